import { readFileSync } from 'node:fs';
import { findProgram } from './find-program.js';

/** The CPUs this process may run on, from /proc/self/status (`Cpus_allowed_list: 0-3,6`). */
function allowedCpus(): number[] {
  try {
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? '';
    return list.split(',').flatMap((range) => {
      const [from, to] = range.split('-').map(Number);
      const last = to ?? from;
      if (from === undefined || last === undefined || Number.isNaN(from) || Number.isNaN(last)) return [];
      return Array.from({ length: last - from + 1 }, (_, i) => from + i);
    });
  } catch {
    return [];
  }
}

let next = 0;

/**
 * `taskset -c N`, to run strace and the app on one CPU, or nothing when
 * taskset is missing. strace and its tracee take turns at every traced
 * syscall; on one CPU a turn is a context switch, across two it is a wake-up
 * of the other CPU, which on virtual machines costs up to ten times more.
 * Parallel checks take the allowed CPUs in turn; we parse on whichever is free.
 */
export function oneCpuPrefix(cwd: string): string[] {
  const taskset = findProgram('taskset', cwd);
  const cpus = allowedCpus();
  if (taskset === undefined || cpus.length < 2) return [];
  const cpu = cpus[next++ % cpus.length]!;
  return [taskset, '-c', String(cpu)];
}
