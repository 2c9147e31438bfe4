import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox', 'fish']);
const cache = new Map<string, string>();

/** The interpreter a script's `#!` line names (through `env`), or the program itself. */
function interpreterOf(program: string): string {
  const cached = cache.get(program);
  if (cached !== undefined) return cached;
  let result = program;
  try {
    const fd = openSync(program, 'r');
    const head = Buffer.alloc(256);
    const length = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const first = head.toString('latin1', 0, length).split('\n')[0] ?? '';
    if (first.startsWith('#!')) {
      const words = first.slice(2).trim().split(/\s+/);
      result =
        basename(words[0] ?? '') === 'env'
          ? (words.find((word, i) => i > 0 && !word.startsWith('-')) ?? program)
          : (words[0] ?? program);
    }
  } catch {
    // Unreadable: judge by its own name.
  }
  cache.set(program, result);
  return result;
}

/** A shell by its name (`sh`, `/bin/bash`), without reading the file. */
export function isShellName(program: string): boolean {
  return SHELLS.has(basename(program));
}

/** Shells fork for every subshell and command substitution: those forks never start workers. */
export function isShell(program: string): boolean {
  return isShellName(program) || isShellName(interpreterOf(program));
}

/** CPython, run directly or through a `#!` script (a console script such as `gunicorn`). */
export function isPython(program: string): boolean {
  return [program, interpreterOf(program)].some((name) => /^python[0-9.]*$/.test(basename(name)));
}
