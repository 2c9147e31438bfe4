import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Report } from '../../src/report/types.js';
import { ROOT } from './run-cli.js';

/**
 * The origins a fixture declares: each line that makes a leaked fd ends with
 * `# origin: <function>` (and ` native` when the fd is made in native code), or
 * `# origin: none` when no line can be named.
 */
export function declaredOrigins(file: string): string[] {
  const shown = relative(ROOT, file);
  const origins = new Set<string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const mark = /# origin: (\S+)( native)?$/.exec(text);
      if (mark) origins.add(mark[1] === 'none' ? 'null' : `${shown}:${index + 1} ${mark[1]}${mark[2] ?? ''}`);
    });
  return [...origins].sort();
}

/** The distinct origins of a report's counted leaks, in the same form; `null` for a leak without one. */
export function reportedOrigins(report: Report): string[] {
  const origins = new Set<string>();
  for (const leak of report.leaks.filter((leak) => !leak.allowed)) {
    const origin = leak.origin;
    origins.add(origin ? `${origin.file}:${origin.line} ${origin.function}${origin.native ? ' native' : ''}` : 'null');
  }
  return [...origins].sort();
}
