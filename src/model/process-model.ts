import type { ProcessEvent, SyscallEvent } from '../trace/events.js';
import { FdTable, type Duplication, type FdSlot } from './fd-table.js';
import { reconcileWithKernel } from './kernel-table.js';
import type { OpenFile } from './open-file.js';
import type { Proc, Task } from './task.js';
import { NO_PROC, type ProcView } from '../proc/proc-view.js';
import { syscallsThat } from '../trace/syscalls.js';
import { applyFdSyscall, type Released } from './fd-syscalls.js';

export interface CloneInfo {
  thread: boolean;
  vfork: boolean;
  sharedTable: boolean;
  /** The parent's table at the clone: what the child starts with. */
  tableAtClone: FdTable;
  /**
   * fds in `tableAtClone` that another thread closed (or replaced) while the fork was under way:
   * the trace cannot tell whether before the kernel copied the table or after, so the child is
   * taken to have them (a leak is never missed that way). Empty where the kernel's table was read.
   */
  closedWhileForking: number[];
}

/** A clone that has entered and not returned. */
interface PendingClone {
  flags: string[];
  /**
   * For a clone that copies the table: the table as it entered, with the fds closes still running
   * had. The kernel copies the table at some moment inside the call, so what another thread closes
   * meanwhile may be in the child's copy or not.
   */
  tableAtEntry?: FdTable;
}

/** A close applied as it entered, still running: the slot it took out. */
interface RunningClose {
  table: FdTable;
  fd: number;
  slot: FdSlot | undefined;
}

export interface ModelListener {
  cloned?(parent: Task, child: Task, info: CloneInfo): void;
  execed?(task: Task): void;
  /** `files` are new descriptions the syscall made (not dups of old ones). */
  created?(task: Task, syscall: string, files: OpenFile[]): void;
  /** A new fd that shares an old one's description (dup, dup2, dup3, fcntl F_DUPFD). */
  duplicated?(task: Task, syscall: string, dup: Duplication): void;
  /** fds the syscall took out of the table (close, close_range, dup2 or dup3 onto an open fd). Told before `duplicated`. */
  closed?(task: Task, syscall: string, released: Released[]): void;
}

const CLONE_CALLS = syscallsThat('forks');
const EXEC_CALLS = syscallsThat('execs');

function cloneFlags(name: string, args: string): string[] {
  if (name === 'fork') return [];
  if (name === 'vfork') return ['CLONE_VM', 'CLONE_VFORK'];
  return /flags=([A-Z0-9_|]+)/.exec(args)?.[1]?.split('|') ?? [];
}

/** Two descriptions of one pipe (by inode), or of one fifo (by its name: the app's streams are fifos prefork-check made). */
function sameStream(a: OpenFile, b: OpenFile): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'pipe') return a.inode !== undefined && a.inode === b.inode;
  return a.kind === 'file' && a.path !== undefined && a.path === b.path;
}

/**
 * Puts back into `table` (the parent's as the fork returned) what another thread closed or
 * replaced since it entered (`atEntry`): strace's text cannot say whether the kernel copied the
 * table before that close or after it, and a worker that may hold an fd must be told of. (What was
 * made meanwhile is already in `table`.) Returns the fds put back.
 */
function keepClosedWhileForking(table: FdTable, atEntry: FdTable): number[] {
  const kept: number[] = [];
  for (const [fd, slot] of atEntry.slots) {
    if (table.get(fd)?.file === slot.file) continue;
    table.set(fd, slot.file, slot.cloexec, slot.dup);
    kept.push(fd);
  }
  return kept;
}

/**
 * The fd tables of every traced process, kept exact by applying each
 * fd-changing syscall in trace order. Exited processes are dropped, so memory
 * follows what is alive, not how long the trace is.
 */
export class ProcessModel {
  readonly tasks = new Map<number, Task>();
  root: Task | undefined;
  /** The descriptions of the stdin (0), stdout (1) and stderr (2) the app was started with. */
  private readonly startStdio = new Map<OpenFile, 0 | 1 | 2>();
  /** Clone calls that have entered but not returned, by calling thread. */
  private readonly pendingClones = new Map<number, PendingClone>();
  /** Threads whose close, still running, was applied when it entered. */
  private readonly closedAtEntry = new Map<number, RunningClose>();

  /** `proc`: the live processes' /proc (NO_PROC for a recorded trace), asked only who a new task belongs to. */
  constructor(
    private readonly initialTable: () => FdTable,
    private readonly listeners: ModelListener[] = [],
    private readonly proc: ProcView = NO_PROC,
  ) {}

  /**
   * Which of the streams the app was started with `file` is: one of their descriptions (or a dup
   * of one), or another description of the same pipe or fifo (received over a socket, taken with
   * pidfd_getfd, opened again by its name), whose bytes go the same way: stdout and stderr are
   * always fifos prefork-check made. A device is never matched by name: a shell's brief
   * `2>/dev/null` is not the app's stderr.
   */
  startStreamOf(file: OpenFile): 0 | 1 | 2 | undefined {
    const own = this.startStdio.get(file);
    if (own !== undefined) return own;
    // Not stdin: it may be the user's own file, and opening that again is a leak like any other.
    for (const [start, fd] of this.startStdio) if (fd !== 0 && sameStream(start, file)) return fd;
    return undefined;
  }

  apply(event: ProcessEvent): Task {
    const task = this.taskFor(event.pid);
    switch (event.type) {
      case 'unfinished':
        if (CLONE_CALLS.has(event.name)) this.pendingClones.set(event.pid, this.cloneEntered(task, event));
        // Linux frees the number as close enters, and it may block (a flush) while another
        // thread's open is handed that number and returns: strace prints the close's result
        // after the open's. Applied at its end, the close would remove the new file.
        if (event.name === 'close') {
          const fd = Number.parseInt(event.args, 10);
          this.closedAtEntry.set(event.pid, { table: task.table, fd, slot: task.table.get(fd) });
          this.applySyscall(task, { ...event, type: 'syscall', result: '0' });
        }
        break;
      case 'syscall':
        if (event.name === 'close' && this.closedAtEntry.delete(event.pid)) break;
        this.applySyscall(task, event);
        break;
      case 'exit':
      case 'killed':
        this.tasks.delete(event.pid);
        this.pendingClones.delete(event.pid);
        this.closedAtEntry.delete(event.pid);
        if (task.proc.pid === event.pid) task.proc.exited = true;
        break;
      case 'signal':
        break;
      case 'kernel-table':
        reconcileWithKernel(task.table, event.fds);
        break;
    }
    return task;
  }

  private applySyscall(task: Task, event: SyscallEvent): void {
    if (EXEC_CALLS.has(event.name)) {
      if (event.result.startsWith('0')) this.exec(task, event);
      return;
    }
    if (CLONE_CALLS.has(event.name)) {
      const pending = this.pendingClones.get(event.pid) ?? { flags: cloneFlags(event.name, event.args) };
      this.pendingClones.delete(event.pid);
      const childTid = Number.parseInt(event.result, 10);
      if (childTid > 0 && !this.tasks.has(childTid)) this.createChild(task, childTid, pending);
      // On to the fd handlers: with CLONE_PIDFD the parent gets a pidfd as the clone returns.
    }
    const { made, duplicated, released } = applyFdSyscall(task, event);
    // Before `duplicated`: the dup2 that replaced an fd still has its record for whoever asks who closed it.
    if (released.length > 0) for (const listener of this.listeners) listener.closed?.(task, event.name, released);
    if (made.length > 0) for (const listener of this.listeners) listener.created?.(task, event.name, made);
    for (const dup of duplicated) for (const listener of this.listeners) listener.duplicated?.(task, event.name, dup);
  }

  private exec(task: Task, event: SyscallEvent): void {
    const path = /"((?:[^"\\]|\\.)*)"/.exec(event.args)?.[1];
    if (path !== undefined) task.proc.program = path;
    // execve unshares a CLONE_FILES table, then drops close-on-exec fds.
    task.table = task.table.afterExec();
    for (const listener of this.listeners) listener.execed?.(task);
  }

  private taskFor(tid: number): Task {
    const known = this.tasks.get(tid);
    if (known) return known;
    if (this.root === undefined) {
      const proc: Proc = { pid: tid, parentPid: undefined, program: '', exited: false };
      this.root = { tid, proc, table: this.initialTable() };
      for (const fd of [0, 1, 2] as const) {
        const file = this.root.table.get(fd)?.file;
        if (file && !this.startStdio.has(file)) this.startStdio.set(file, fd);
      }
      this.tasks.set(tid, this.root);
      return this.root;
    }
    // A child can print before its parent's clone returns (vfork always does).
    const parentTid = this.guessParent(tid);
    const parent = parentTid === undefined ? undefined : this.tasks.get(parentTid);
    if (parent) return this.createChild(parent, tid, this.pendingClones.get(parentTid!) ?? { flags: [] });
    const proc: Proc = { pid: tid, parentPid: undefined, program: '', exited: false };
    const orphan: Task = { tid, proc, table: new FdTable() };
    this.tasks.set(tid, orphan);
    return orphan;
  }

  private guessParent(tid: number): number | undefined {
    const candidates = [...this.pendingClones.keys()];
    if (candidates.length === 1) return candidates[0];
    if (candidates.length === 0) return undefined;
    // Several clones in flight: ask the kernel who the new task belongs to; once it is gone (or
    // the trace is a recording), the most recent clone.
    const ids = this.proc.taskIds(tid);
    if (ids) {
      const owner = ids.tgid !== tid ? ids.tgid : ids.ppid;
      const match = candidates.find((candidate) => this.tasks.get(candidate)?.proc.pid === owner);
      if (match !== undefined) return match;
    }
    return candidates.at(-1);
  }

  /** A clone as it enters: its flags, and for one that copies the table, that table as it is now. */
  private cloneEntered(task: Task, event: { name: string; args: string }): PendingClone {
    const flags = cloneFlags(event.name, event.args);
    if (flags.includes('CLONE_THREAD') || flags.includes('CLONE_FILES')) return { flags };
    const tableAtEntry = task.table.copy();
    for (const close of this.closedAtEntry.values())
      if (close.table === task.table && close.slot && !tableAtEntry.get(close.fd))
        tableAtEntry.set(close.fd, close.slot.file, close.slot.cloexec, close.slot.dup);
    return { flags, tableAtEntry };
  }

  private createChild(parent: Task, tid: number, { flags, tableAtEntry }: PendingClone): Task {
    const thread = flags.includes('CLONE_THREAD');
    const sharedTable = flags.includes('CLONE_FILES');
    const tableAtClone = parent.table.copy();
    const closedWhileForking =
      tableAtEntry && !parent.table.kernelRead ? keepClosedWhileForking(tableAtClone, tableAtEntry) : [];
    const proc: Proc = thread
      ? parent.proc
      : { pid: tid, parentPid: parent.proc.pid, program: parent.proc.program, exited: false };
    // The child gets its own copy: `tableAtClone` must stay as it was at the clone (first-fork reports it).
    const child: Task = { tid, proc, table: sharedTable ? parent.table : tableAtClone.copy() };
    this.tasks.set(tid, child);
    const info = { thread, vfork: flags.includes('CLONE_VFORK'), sharedTable, tableAtClone, closedWhileForking };
    for (const listener of this.listeners) listener.cloned?.(parent, child, info);
    return child;
  }

  /**
   * The started process has exited 0 leaving processes running, as a daemonizing server does
   * (gunicorn --daemon, uwsgi --daemonize): the app goes on in them. Call once the exit is applied.
   */
  rootHandedOver(event: ProcessEvent): boolean {
    return event.type === 'exit' && event.pid === this.root?.tid && event.code === 0 && this.liveProcesses().length > 0;
  }

  /** Live processes (thread-group leaders still traced). */
  liveProcesses(): Task[] {
    return [...this.tasks.values()].filter((task) => task.tid === task.proc.pid);
  }
}
