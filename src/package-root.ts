import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's own directory (package.json, python/), found upward from this
 * module: the same from src/, dist/ and the bundled CLI's chunks.
 */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'python'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(
    `prefork-check is installed incompletely: no package.json and python/ above ${fileURLToPath(import.meta.url)}`,
  );
}

export const PACKAGE_ROOT = findPackageRoot();
