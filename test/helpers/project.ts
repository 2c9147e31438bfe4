import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { scratch } from './run-cli.js';

/** A throwaway project directory holding `files` (path → content; objects are written as JSON). */
export function project(files: Record<string, string | object>): string {
  const dir = scratch();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}
