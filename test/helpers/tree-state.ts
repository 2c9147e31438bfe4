import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * What every entry under `dir` is, without following symlinks: its type and mode, and a checksum of
 * a file's bytes, a link's target or a device's number. Two states compare equal only if nothing
 * in the tree was added, removed, replaced or changed. Paths in `except` (the run's named outputs)
 * are left out, and so are `__pycache__` directories, which any test's Python app may write.
 */
export function treeState(dir: string, except: string[] = []): Record<string, string> {
  const skipped = new Set(except.map((path) => relative(dir, path)));
  const state: Record<string, string> = {};
  const visit = (path: string) => {
    const name = relative(dir, path) || '.';
    if (skipped.has(name) || name.endsWith('__pycache__')) return;
    const stat = lstatSync(path);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isDirectory()) {
      state[name] = `directory ${mode}`;
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (stat.isFile()) {
      state[name] = `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    } else if (stat.isSymbolicLink()) {
      state[name] = `symlink -> ${readlinkSync(path)}`;
    } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
      state[name] = `device ${mode} ${stat.rdev}`;
    } else {
      state[name] = `${stat.isFIFO() ? 'fifo' : 'socket'} ${mode} ${stat.ino}`;
    }
  };
  visit(dir);
  return state;
}
