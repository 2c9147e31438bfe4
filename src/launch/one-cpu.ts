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
/** keepOffTracedCpu was asked for, and not yet done: the CPUs this process moves to. */
let moveTo: number[] | undefined;

/**
 * How the next traced app is pinned: strace and the app to one CPU, with `taskset -c N` before
 * strace (nothing where taskset is missing), or prefork-check's own tracer's `--cpu N`, which
 * needs no taskset. strace and its tracee take turns at every traced syscall; on one CPU a turn
 * is a context switch, across two it is a wake-up of the other CPU, which on virtual machines
 * costs up to ten times more. Parallel checks take the allowed CPUs in turn; we parse on
 * whichever is free. The native tracer also makes the move keepOffTracedCpu asked for
 * (`--move-off`, our pid): one program fewer to start than taskset.
 */
export function pinning(native: boolean, cwd: string): { prefix: string[]; tracerArgs: string[] } {
  const cpus = (tracerCpus ??= choosableCpus());
  if (cpus.length === 0) return { prefix: [], tracerArgs: [] };
  if (native) {
    const cpu = cpus[next++ % cpus.length]!;
    const move = moveTo === undefined ? [] : ['--move-off', String(process.pid)];
    moveTo = undefined;
    return { prefix: [], tracerArgs: ['--cpu', String(cpu), ...move] };
  }
  const taskset = findProgram('taskset', cwd);
  if (taskset === undefined) return { prefix: [], tracerArgs: [] };
  return { prefix: [taskset, '-c', String(cpus[next++ % cpus.length]!)], tracerArgs: [] };
}

/**
 * For a run of one check at a time (the CLI's usual run, and watch): the traced
 * app gets one CPU to itself, and this process (all its threads: V8 compiles
 * and collects garbage on threads of its own, busiest while our code is still
 * cold) moves to the others. Sharing the app's CPU cost the fd-heavy benchmark
 * start ~0.15 s. Not for the library: a test runner's CPUs are not ours to move.
 * The move is made once the first traced app has been started (leaveTracedCpu), so
 * that it does not hold up the start; by the native tracer itself, as it starts.
 */
export function keepOffTracedCpu(): void {
  const cpus = choosableCpus();
  if (cpus.length === 0) return;
  tracerCpus = cpus.slice(0, 1);
  moveTo = cpus.slice(1);
}

/** Called once a traced app has been started: makes the move keepOffTracedCpu asked for, if the tracer has not. */
export function leaveTracedCpu(cwd: string): void {
  const cpus = moveTo;
  moveTo = undefined;
  const taskset = cpus === undefined ? undefined : findProgram('taskset', cwd);
  // Best effort, and not waited for (starting taskset takes Node 5-12 ms): a refusal (a seccomp
  // profile) leaves things as they were.
  if (taskset !== undefined)
    execFile(taskset, ['-a', '-p', '-c', cpus!.join(','), String(process.pid)], () => undefined);
}
