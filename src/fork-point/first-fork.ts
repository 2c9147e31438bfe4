import type { FdTable } from '../model/fd-table.js';
import type { CloneInfo, ProcessModel } from '../model/process-model.js';
import type { Proc, Task } from '../model/task.js';
import type { StackFrame } from '../attribution/describe-origin.js';
import type { ProcessEvent, SyscallEvent } from '../trace/events.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';
import { blockedIn } from './blocked-in.js';
import { NO_PROC, type ProcView } from '../proc/proc-view.js';
import { syscallsThat } from '../trace/syscalls.js';
import { isShell } from './program-kind.js';

/** Calls that show a forked child is running as a worker rather than heading for execve. */
const WORKER_SIGNS = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'socket',
  'socketpair',
  'pipe',
  'pipe2',
  'accept',
  'accept4',
  'bind',
  'listen',
  'connect',
  'epoll_create',
  'epoll_create1',
  'memfd_create',
  'signalfd',
  'signalfd4',
  'timerfd_create',
  'inotify_init',
  'inotify_init1',
  'pidfd_open',
  'io_uring_setup',
  'clone',
  'clone3',
  'fork',
  'vfork',
  'exit_group',
]);

const OPENS = new Set(['open', 'openat', 'openat2']);

/** Signs even when they fail: a child that tries to accept a connection (EAGAIN, nothing waiting) serves. */
const ATTEMPTS = syscallsThat('accepts');

/**
 * What a child makes whatever it is for: a runtime's own eventfds (Ruby's VM remakes its timer
 * eventfds right after fork) and /dev/null for its stdio (multiprocessing's children, and a
 * daemonizing child before its setsid()). It makes the child a worker once its parent shows it
 * lives on as a master (makes an fd, starts a thread or forks again), not when the parent exits.
 */
function isWeakSign(event: SyscallEvent): boolean {
  if (event.result[0] === '-') return false;
  if (event.name === 'eventfd' || event.name === 'eventfd2') return true;
  return OPENS.has(event.name) && /<\/dev\/null[<>]/.test(event.result);
}

/** Whether a forked child's syscall shows it at work as a worker. */
function showsWork(event: SyscallEvent): boolean {
  if (!WORKER_SIGNS.has(event.name) || isWeakSign(event)) return false;
  return event.result[0] !== '-' || ATTEMPTS.has(event.name);
}

interface Candidate {
  parent: Task;
  child: Task;
  table: FdTable;
  /** fds another thread closed while the fork was under way, taken as inherited (CloneInfo). */
  closedWhileForking: number[];
  /** `other`: a worker, but not forked by the server's own code (the app's helper process). */
  verdict: 'pending' | 'worker' | 'spawn' | 'other';
  /** It called setsid(): a daemon's hand-over or a worker of its own session, told by what its parent does. */
  detached?: boolean;
}

export interface FirstForkOptions {
  spawns?: boolean;
  /** See ForkPointSpec: `module:function` on the forking stack, or `native`. */
  serverFork?: string;
  /** The Python stack that forked a child; undefined when no Python call announced the fork. */
  forkStack?: (child: Task) => StackFrame[] | undefined;
  /** The live processes, asked what a quiet child waits in (NO_PROC: never decided that way). */
  proc?: ProcView;
}

/** Whether a fork is the server's own; a fork whose stack is unknown is given the benefit of the doubt. */
function isServerFork(stack: StackFrame[] | undefined, serverFork: string | undefined): boolean {
  if (serverFork === undefined || stack === undefined) return true;
  if (serverFork === 'native') return false;
  return stack.some((frame) => `${frame.module}:${frame.function}` === serverFork);
}

const MAX_NOTES = 5;

/** The calls a parent waits in for its children, as blockedIn names them. */
const WAITS = new Set(['wait4()', 'waitid()']);

/**
 * Fork point = the first fork whose child turns out to be a worker: not a
 * thread, not a vfork, not a child that goes on to execve (subprocess), not a
 * shell's subshell, and not a fork of daemonizing. A child is judged by what it
 * does first: execve makes it a spawn (which counts, with `spawns`); making an
 * fd, trying to accept, forking, or exiting without exec makes it a worker;
 * its parent exiting first, or setsid() and a fork at once, makes it a daemon's
 * hand-over (after setsid() alone it waits on what its parent does). Forks are
 * decided in order, so an earlier spawn never hides a later worker.
 */
export function firstForkDetector({
  spawns = false,
  serverFork,
  forkStack,
  proc = NO_PROC,
}: FirstForkOptions = {}): ForkPointDetector {
  const candidates: Candidate[] = [];
  const byChild = new Map<number, Candidate>();
  const notes: string[] = [];
  const shellForks = new Map<string, number>();
  let forked: Candidate | undefined;
  // Programs the app started by fork or vfork and exec (not a shell's): no fork point, however many.
  const vforked = new Set<number>();
  const started: string[] = [];
  let startedCount = 0;
  const programStarted = (task: Task) => {
    startedCount++;
    if (started.length < 3) started.push(`pid ${task.tid} ran ${task.proc.program}`);
  };

  const settle = (): ForkPointHit | undefined => {
    while (candidates.length > 0 && (candidates[0]!.verdict === 'spawn' || candidates[0]!.verdict === 'other'))
      byChild.delete(candidates.shift()!.child.tid);
    const first = candidates[0];
    if (first?.verdict !== 'worker') return undefined;
    forked = first;
    return {
      task: first.parent,
      table: first.table,
      childPid: first.child.tid,
      description: `fork of ${spawns ? 'child' : 'worker'} pid ${first.child.tid} by ${describeProcess(first.parent.proc)}`,
    };
  };

  const judgeWorker = (candidate: Candidate): ForkPointHit | undefined => {
    candidate.verdict = 'worker';
    return settle();
  };

  // Forks whose stack is still to be looked at: known once the fork's event has been applied.
  // One the app made (not the server's worker fork) is passed over at once, even if its child
  // never does anything that would show what it is.
  const unchecked: Candidate[] = [];
  const passOverAppForks = () => {
    // Runs for every trace line: nothing to do (and nothing to allocate) unless a fork came.
    if (unchecked.length === 0) return;
    for (const candidate of unchecked.splice(0)) {
      const stack = forkStack?.(candidate.child);
      if (candidate.verdict !== 'pending' || isServerFork(stack, serverFork)) continue;
      candidate.verdict = 'other';
      if (notes.length < MAX_NOTES) {
        const at = stack?.find((frame) => !frame.library) ?? stack?.[0];
        notes.push(
          `skipped pid ${candidate.child.tid}: forked by ${describeProcess(candidate.parent.proc)}${at ? ` at ${at.file}:${at.line}` : ''}, not by the server's worker fork (${serverFork})`,
        );
      }
    }
  };

  // Daemonizing (gunicorn --daemon, uwsgi --daemonize, unicorn -D): fork, the child calls setsid()
  // and forks again at once, and only the grandchild goes on to be the server. Neither fork is a
  // worker's. Here: processes whose setsid() has been followed by no new fd and no fork yet.
  const justDetached = new Set<Proc>();
  const note = (child: Task, why: string) => {
    if (notes.length < MAX_NOTES) notes.push(`skipped pid ${child.tid}: ${why}`);
  };
  // Children with only weak signs so far, waiting on what their parent does next.
  let awaitingParent: Candidate[] = [];
  const parentLivesOn = (proc: Proc) => {
    for (const candidate of awaitingParent)
      if (candidate.parent.proc === proc && candidate.verdict === 'pending') candidate.verdict = 'worker';
  };
  const handedOver = (candidate: Candidate) => {
    candidate.verdict = 'other';
    note(
      candidate.child,
      `${describeProcess(candidate.parent.proc)} exited after forking it: handed over (daemonizing), not a worker`,
    );
  };

  return {
    listener: {
      cloned(parent: Task, child: Task, info: CloneInfo) {
        parentLivesOn(parent.proc);
        if (info.vfork && !isShell(parent.proc.program)) vforked.add(child.tid);
        if (info.thread || info.vfork) return;
        if (justDetached.delete(parent.proc)) {
          const own = byChild.get(parent.tid);
          if (own?.verdict === 'pending') {
            own.verdict = 'other';
            note(parent, 'called setsid() and forked again: daemonizing, not a worker');
          }
          return note(
            child,
            `forked by ${describeProcess(parent.proc)} right after its setsid(): daemonizing, not a worker`,
          );
        }
        if (isShell(parent.proc.program)) {
          const shell = describeProcess(parent.proc);
          shellForks.set(shell, (shellForks.get(shell) ?? 0) + 1);
          return;
        }
        // Counting spawns too, the child is judged by its first act: a daemonizing child's setsid()
        // is no spawn of a program (supervisord forks to daemonize before it forks programs).
        const candidate: Candidate = {
          parent,
          child,
          table: info.tableAtClone,
          closedWhileForking: info.closedWhileForking,
          verdict: 'pending',
        };
        candidates.push(candidate);
        byChild.set(child.tid, candidate);
        if (serverFork !== undefined) unchecked.push(candidate);
      },
      created(task: Task) {
        justDetached.delete(task.proc);
        parentLivesOn(task.proc);
      },
      duplicated(task: Task) {
        justDetached.delete(task.proc);
      },
      execed(task: Task) {
        const candidate = byChild.get(task.tid);
        if (candidate?.verdict === 'pending' && spawns) candidate.verdict = 'worker';
        if (vforked.delete(task.tid)) programStarted(task);
        if (candidate?.verdict === 'pending') {
          programStarted(task);
          candidate.verdict = 'spawn';
          if (notes.length < MAX_NOTES)
            notes.push(
              `skipped pid ${task.tid}: forked by ${describeProcess(candidate.parent.proc)}, then ran ${task.proc.program}`,
            );
        }
      },
    },
    observe(event: ProcessEvent, task: Task, _model: ProcessModel): ForkPointHit | undefined {
      passOverAppForks();
      if (awaitingParent.length > 0) {
        for (const waiting of awaitingParent)
          if (waiting.verdict === 'pending' && waiting.parent.proc.exited) handedOver(waiting);
        awaitingParent = awaitingParent.filter((waiting) => waiting.verdict === 'pending');
      }
      // A child that calls setsid() is daemonizing if it forks again or its parent exits; one
      // whose parent lives on is a worker in a session of its own (RQ's work horse).
      if (event.type === 'syscall' && event.name === 'setsid' && event.result[0] !== '-') {
        justDetached.add(task.proc);
        const candidate = byChild.get(task.tid);
        if (candidate?.verdict === 'pending') {
          candidate.detached = true;
          if (!awaitingParent.includes(candidate)) awaitingParent.push(candidate);
        }
        return settle();
      }
      const candidate = byChild.get(task.tid);
      if (candidate?.verdict !== 'pending') return settle();
      // Its parent is gone: handed over to (a daemon's child), no worker of a living master.
      if (candidate.parent.proc.exited) {
        handedOver(candidate);
        return settle();
      }
      if (event.type === 'exit' || event.type === 'killed') return judgeWorker(candidate);
      if (event.type !== 'syscall') return settle();
      // What a daemon does after setsid() (opening /dev/null, its log) says nothing until its parent has gone.
      if (candidate.detached) return settle();
      if (showsWork(event)) return judgeWorker(candidate);
      if (isWeakSign(event) && !awaitingParent.includes(candidate)) awaitingParent.push(candidate);
      return settle();
    },
    rootEnded(_model: ProcessModel, handingOver: boolean): ForkPointHit | undefined {
      passOverAppForks();
      // Children still undecided when the trace ends never exec'd: workers. A daemon's child
      // goes on being traced, and shows what it is by what it does next.
      if (!handingOver)
        for (const candidate of candidates) if (candidate.verdict === 'pending') candidate.verdict = 'worker';
      return settle();
    },
    // A worker that goes straight into accept(), read() or pause() makes no call the trace shows
    // until that one returns. A child still undecided, blocked in a call while its parent lives
    // on, is not heading for execve: a worker.
    quiet(): ForkPointHit | undefined {
      passOverAppForks();
      for (const candidate of candidates) {
        if (candidate.verdict !== 'pending' || candidate.parent.proc.exited) continue;
        const call = blockedIn(proc, candidate.child.tid);
        // A parent that waits for its setsid() child lives on as its master (RQ's worker waits for its busy horse).
        const parentCall = call === undefined && candidate.detached ? blockedIn(proc, candidate.parent.tid) : undefined;
        const waitedFor = parentCall !== undefined && WAITS.has(parentCall);
        if (call === undefined && !waitedFor) continue;
        candidate.verdict = 'worker';
        const why = call === undefined ? `its parent waits for it in ${parentCall}` : `it waits in ${call}`;
        if (notes.length < MAX_NOTES)
          notes.push(`pid ${candidate.child.tid} was judged a worker by what the kernel says: ${why}`);
      }
      return settle();
    },
    notReached() {
      if (startedCount === 0 || candidates.some((candidate) => candidate.verdict === 'worker')) return undefined;
      const more = startedCount > started.length ? `, and ${startedCount - started.length} more` : '';
      return `It started ${startedCount} program${startedCount > 1 ? 's' : ''} by fork and exec (${started.join(', ')}${more}) and forked no process that went on without exec. A worker started that way (uvicorn --workers, multiprocessing's spawn or forkserver start method) loads the app itself and inherits only the fds its exec keeps, so there is no fork point to check. If a worker fork is just slow, raise --timeout.`;
    },
    notes() {
      const all = [...notes];
      const raced = forked?.closedWhileForking ?? [];
      if (raced.length > 0)
        all.push(
          `fd ${raced.join(', ')}: closed by another thread of pid ${forked!.parent.proc.pid} while it forked; the trace cannot tell whether before the kernel copied the table, so the worker is taken to have ${raced.length > 1 ? 'them' : 'it'} (prefork-check's own tracer reads the worker's table itself)`,
        );
      if (shellForks.size > 0) {
        const total = [...shellForks.values()].reduce((sum, count) => sum + count, 0);
        const shells = [...shellForks.keys()].slice(0, MAX_NOTES).join(', ');
        all.push(
          `ignored ${total} forks by shells (${shells}${shellForks.size > MAX_NOTES ? ', ...' : ''}): shells fork for subshells, not workers`,
        );
      }
      return all;
    },
  };
}
