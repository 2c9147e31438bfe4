import { execFile } from 'node:child_process';
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

/** The allowed CPUs when there is a choice (two or more), else none. */
function choosableCpus(): number[] {
  const cpus = allowedCpus();
  return cpus.length < 2 ? [] : cpus;
}

let next = 0;
/** The CPUs traced apps take in turn: every allowed one, until keepOffTracedCpu keeps one for them. */
let tracerCpus: number[] | undefined;

/**
 * `taskset -c N`, to run strace and the app on one CPU, or nothing when
 * taskset is missing. strace and its tracee take turns at every traced
 * syscall; on one CPU a turn is a context switch, across two it is a wake-up
 * of the other CPU, which on virtual machines costs up to ten times more.
 * Parallel checks take the allowed CPUs in turn; we parse on whichever is free.
 */
export function oneCpuPrefix(cwd: string): string[] {
  const taskset = findProgram('taskset', cwd);
  const cpus = (tracerCpus ??= choosableCpus());
  if (taskset === undefined || cpus.length === 0) return [];
  const cpu = cpus[next++ % cpus.length]!;
  return [taskset, '-c', String(cpu)];
}

/** The move keepOffTracedCpu asked for, made once the first traced app has been started. */
let pendingMove: (() => void) | undefined;

/**
 * For a run of one check at a time (the CLI's usual run, and watch): the traced
 * app gets one CPU to itself, and this process (all its threads: V8 compiles
 * and collects garbage on threads of its own, busiest while our code is still
 * cold) moves to the others. Sharing the app's CPU cost the fd-heavy benchmark
 * start ~0.15 s. Not for the library: a test runner's CPUs are not ours to move.
 * The move itself (starting taskset takes Node 5-12 ms) waits until the app has been
 * started (leaveTracedCpu), so that it does not hold up the start.
 */
export function keepOffTracedCpu(cwd: string): void {
  const taskset = findProgram('taskset', cwd);
  const cpus = choosableCpus();
  if (taskset === undefined || cpus.length === 0) return;
  tracerCpus = cpus.slice(0, 1);
  // Best effort, and not waited for: a refusal (a seccomp profile) leaves things as they were.
  pendingMove = () =>
    execFile(taskset, ['-a', '-p', '-c', cpus.slice(1).join(','), String(process.pid)], () => undefined);
}

/** Called once a traced app has been started: makes the move keepOffTracedCpu asked for, if any. */
export function leaveTracedCpu(): void {
  const move = pendingMove;
  pendingMove = undefined;
  move?.();
}
