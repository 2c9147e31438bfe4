import type { ModelListener } from '../model/process-model.js';
import type { Proc, Task } from '../model/task.js';
import type { Duplication } from '../model/fd-table.js';
import type { OpenFile } from '../model/open-file.js';
import type { ProcessEvent } from '../trace/events.js';
import { FrameTable, parseRecord, type CallRecord, type StartRecord } from './records.js';

/** One program image of a process: what execve started, and the bootstrap's start record once Python or Ruby ran it. */
export interface ProcessImage {
  program: string;
  started?: StartRecord;
}

/** Where a description came from, as far as the app's own records tell. */
export type Attribution =
  /** Made by the call `record` names (a Python call, or native code it called into). */
  /**
   * `inThread`: no call covered it; `record` started the thread that made it (native code in that
   * thread). `threadStarts`: the calls that started the making thread and the threads that started
   * it, innermost first, for the app's line where the making code is all a library's (a client's
   * monitor thread).
   */
  | { type: 'recorded'; record: CallRecord; image: ProcessImage; inThread?: true; threadStarts?: CallRecord[] }
  /**
   * No record covered it: made by a program with no bootstrap, before the bootstrap ran
   * (`bootstrapped` false: the interpreter's own start-up), or by native code. `afterFork`: in a
   * forked child before its thread sent any record, as the runtime re-initialises itself (Ruby's
   * VM makes its timer eventfd anew in each child).
   */
  | { type: 'unrecorded'; image: ProcessImage; bootstrapped: boolean; afterFork: boolean; lastRecord?: CallRecord };

/** The fd syscalls each bootstrap event announces, how many of them it makes, and whether native code makes them. */
const ANNOUNCED: Record<string, { syscalls: string[]; count: number; native?: true }> = {
  open: { syscalls: ['open', 'openat', 'openat2', 'creat'], count: 1 },
  socket: { syscalls: ['socket'], count: 1 },
  socketpair: { syscalls: ['socketpair'], count: 1 },
  accept: { syscalls: ['accept', 'accept4'], count: 1 },
  pipe: { syscalls: ['pipe', 'pipe2'], count: 1 },
  epoll: { syscalls: ['epoll_create', 'epoll_create1'], count: 1 },
  eventfd: { syscalls: ['eventfd', 'eventfd2'], count: 1 },
  memfd_create: { syscalls: ['memfd_create'], count: 1 },
  pidfd_open: { syscalls: ['pidfd_open'], count: 1 },
  // os.dup and socket.dup use fcntl(F_DUPFD_CLOEXEC); os.dup2, dup2 or dup3.
  dup: { syscalls: ['dup', 'dup2', 'dup3', 'fcntl'], count: 1 },
  // mmap.mmap of a file: the dup of its fd the map keeps, made in mmap's C code (fcntl F_DUPFD_CLOEXEC).
  mmap: { syscalls: ['dup', 'fcntl'], count: 1, native: true },
  // socket.recv_fds and recvmsg: the fds another process passed with SCM_RIGHTS.
  recvmsg: { syscalls: ['recvmsg', 'recvmmsg'], count: 1 },
  // threading's start: no fd, but the stack that started the thread names what its native code makes.
  thread: { syscalls: ['clone', 'clone3'], count: 1 },
  // os.fork: no fd, but the stack that forked (a server's worker fork, or the app's own).
  fork: { syscalls: ['clone', 'clone3', 'fork'], count: 1 },
  // The master, then the slave: opened by path, or (glibc) by ioctl TIOCGPTPEER on the master.
  openpty: { syscalls: ['open', 'openat', 'ioctl'], count: 2 },
};

/** Whether the call's fds are made inside native code: a scoped native call, or an event whose one fd C code makes. */
export function madeInNativeCode(record: CallRecord): boolean {
  return record.native || ANNOUNCED[record.event]?.native === true;
}

/** A new thread's starts: the call that started it (when threading announced one), then its starter's. */
function startsOf(starting: CallRecord | undefined, parents: CallRecord[] | undefined): { startedBy?: CallRecord[] } {
  const starts = [...(starting?.event === 'thread' ? [starting] : []), ...(parents ?? [])];
  return starts.length > 0 ? { startedBy: starts } : {};
}

/** The event of the bootstraps' closing records (`D`). */
const CLOSE_EVENT = 'close';
/** Per process: enough for a worker's hook; what comes after only loses its line, never its verdict. */
const MAX_CLOSES_LOGGED = 4096;

/** The syscall that closed a description, and what called it. */
export interface Closer {
  syscall: string;
  attribution: Attribution;
}

/** The innermost scoped call (the last) that is `wanted`. */
function innermost(scoped: CallRecord[], wanted: (call: CallRecord) => boolean): CallRecord | undefined {
  for (let at = scoped.length - 1; at >= 0; at--) if (wanted(scoped[at]!)) return scoped[at];
  return undefined;
}

/** A Python call's record, covering its next matching syscalls: `remaining` of them. */
interface Pending {
  record: CallRecord;
  remaining: number;
}

/**
 * Records whose calls have not come yet, innermost last. Calls nest: a signal handler may run
 * between a record and its call, and announce and make an fd of its own (a nested record).
 */
const MAX_PENDING = 16;

interface ThreadState {
  pending: Pending[];
  /** Scoped calls in progress (Ruby calls, native calls), innermost last: each covers every fd made until it ends. */
  scoped: CallRecord[];
  last?: CallRecord;
  /** A forked child's thread that has sent no record since the fork. */
  afterFork?: boolean;
  /** The calls that started this thread (Python's threading) and the threads that started it, innermost first. */
  startedBy?: CallRecord[];
}

/**
 * Matches the bootstrap's records to the fds they announce. A Python call's
 * record covers the next matching fd syscalls of the same thread; a scoped
 * call (a Ruby call, a native call from Python) covers every fd its thread
 * makes until its end record, and none after: an fd no call covers has no
 * line rather than a stale one.
 */
export class Attributor {
  private readonly images = new WeakMap<Proc, ProcessImage>();
  private readonly threads = new Map<number, ThreadState>();
  /** By what made the fd: a new description, or a dup of an old one. */
  private readonly attributions = new WeakMap<OpenFile | Duplication, Attribution>();
  /** Per forked process: who closed each description it closed (the last close of each). */
  private readonly closes = new WeakMap<Proc, Map<OpenFile, Closer>>();
  /** The Python call that forked each child process, where one announced it. */
  private readonly forks = new WeakMap<Task, CallRecord>();
  private readonly frames = new WeakMap<Proc, FrameTable>();
  /** A record was used up while the model applied the current event. */
  private took = false;

  constructor(private readonly token: string) {}

  /** Reads a record out of the event; true when it was one. */
  observe(event: ProcessEvent, task: Task): boolean {
    if (event.type === 'exit' || event.type === 'killed') {
      this.threads.delete(event.pid);
      return false;
    }
    if (event.type !== 'syscall') return false;
    const record = parseRecord(event, this.token, this.framesOf(task.proc));
    const tookHere = this.took;
    this.took = false;
    if (record === undefined) {
      // The call a record announced uses it up, whatever came of it: failed, or made no fd
      // (a recvmsg with no fds, dup2 onto itself). A later call in the thread never gets its line.
      // Not an ioctl: openpty's ioctls on the master (TIOCGPTN, ...) come before the one that
      // makes the slave.
      if (!tookHere && event.name !== 'ioctl') this.take(task.tid, event.name, { once: true });
      return false;
    }
    if (record.type === 'start') {
      this.imageOf(task.proc).started = record;
      return true;
    }
    const thread = this.threadOf(task.tid);
    thread.afterFork = false;
    if (record.type === 'end') {
      thread.scoped.pop();
    } else if (record.scoped) {
      thread.scoped.push(record);
      thread.last = record;
    } else {
      // A record replaces any still pending (their calls never came), unless made inside one's wait.
      if (!record.nested) thread.pending.length = 0;
      thread.pending.push({ record, remaining: ANNOUNCED[record.event]?.count ?? 0 });
      if (thread.pending.length > MAX_PENDING) thread.pending.shift();
      thread.last = record;
    }
    return true;
  }

  /** Who closed `file` in the forked process `proc` last, if it did: the syscall, and the call that announced it. */
  closerOf(proc: Proc, file: OpenFile): Closer | undefined {
    return this.closes.get(proc)?.get(file);
  }

  attributionOf(made: OpenFile | Duplication): Attribution | undefined {
    return this.attributions.get(made);
  }

  /** The call that forked `child`, as an attribution; undefined when no Python call announced the fork. */
  forkOf(child: Task): Attribution | undefined {
    const record = this.forks.get(child);
    return record && { type: 'recorded', record, image: this.imageOf(child.proc) };
  }

  readonly listener: ModelListener = {
    cloned: (parent, child, info) => {
      // A thread native code starts inside an announced native call (grpc's pollers and
      // executors) runs for that call: what it makes is the call's, at the app's line.
      if (info.thread) {
        const starting = this.take(parent.tid, 'clone');
        const native = innermost(this.threads.get(parent.tid)?.scoped ?? [], (call) => call.native);
        this.threads.set(child.tid, {
          pending: [],
          scoped: native ? [native] : [],
          ...(native ? { last: native } : {}),
          ...startsOf(starting, this.threads.get(parent.tid)?.startedBy),
        });
      }
      // A forked child runs the same interpreter, hooks and all; any other new thread starts with no record.
      if (!info.thread) {
        // Python's os.fork record, or the Ruby fork call (or native call) in progress.
        const forking = this.take(parent.tid, 'clone');
        if (forking) this.forks.set(child, forking);
        this.images.set(child.proc, this.imageOf(parent.proc));
        this.frames.set(child.proc, new FrameTable(this.framesOf(parent.proc)));
        this.threads.set(child.tid, { pending: [], scoped: [], afterFork: true });
      }
    },
    execed: (task) => {
      this.images.set(task.proc, { program: task.proc.program });
      this.frames.set(task.proc, new FrameTable());
      this.threads.delete(task.tid);
    },
    created: (task, syscall, files) => {
      const attribution = this.attribute(task, syscall);
      for (const file of files) this.attributions.set(file, attribution);
    },
    duplicated: (task, syscall, dup) => {
      this.attributions.set(dup, this.attribute(task, syscall));
    },
    // A forked child's closes, for the report of what a worker closed of what it inherited.
    closed: (task, syscall, released) => {
      if (task.proc.parentPid === undefined) return;
      let log = this.closes.get(task.proc);
      if (!log) this.closes.set(task.proc, (log = new Map()));
      if (log.size >= MAX_CLOSES_LOGGED) return;
      const record = this.closingCall(task, syscall);
      const closer: Closer = {
        syscall,
        attribution: record
          ? { type: 'recorded', record, image: this.imageOf(task.proc) }
          : { type: 'unrecorded', image: this.imageOf(task.proc), bootstrapped: false, afterFork: false },
      };
      for (const { file } of released) log.set(file, closer);
    },
  };

  /**
   * The call that closes fds in this syscall, while the model applies it: a dup2's own record,
   * or the innermost call announced as closing (`D` records: a worker's close(), IO#close).
   */
  private closingCall(task: Task, syscall: string): CallRecord | undefined {
    const thread = this.threads.get(task.tid);
    if (!thread) return undefined;
    const pending = thread.pending.at(-1)?.record;
    if (pending && pending.event === 'dup' && ANNOUNCED.dup!.syscalls.includes(syscall)) return pending;
    return innermost(thread.scoped, (call) => call.event === CLOSE_EVENT);
  }

  private attribute(task: Task, syscall: string): Attribution {
    const image = this.imageOf(task.proc);
    const record = this.take(task.tid, syscall);
    const thread = this.threads.get(task.tid);
    const starts = thread?.startedBy;
    if (record) return { type: 'recorded', record, image, ...(starts ? { threadStarts: starts } : {}) };
    if (starts) return { type: 'recorded', record: starts[0]!, image, inThread: true, threadStarts: starts.slice(1) };
    return {
      type: 'unrecorded',
      image,
      bootstrapped: image.started !== undefined,
      afterFork: thread?.afterFork === true,
      ...(thread?.last ? { lastRecord: thread.last } : {}),
    };
  }

  /**
   * The record that covers this syscall in the thread: the innermost pending Python call's that
   * announced such a syscall, used up by one (any pending inside it announced a call that never
   * came, and goes too), else the innermost scoped call's (any number of fds). `once`: a call
   * that made no fd, which uses up only a Python call's record.
   */
  private take(tid: number, syscall: string, { once = false } = {}): CallRecord | undefined {
    const thread = this.threads.get(tid);
    if (!thread) return undefined;
    const pending = thread.pending;
    for (let at = pending.length - 1; at >= 0; at--) {
      const entry = pending[at]!;
      if (!ANNOUNCED[entry.record.event]?.syscalls.includes(syscall)) continue;
      this.took = true;
      entry.remaining--;
      pending.length = entry.remaining > 0 ? at + 1 : at;
      return entry.record;
    }
    return once ? undefined : thread.scoped.at(-1);
  }

  private threadOf(tid: number): ThreadState {
    let thread = this.threads.get(tid);
    if (!thread) {
      thread = { pending: [], scoped: [] };
      this.threads.set(tid, thread);
    }
    return thread;
  }

  private framesOf(proc: Proc): FrameTable {
    let frames = this.frames.get(proc);
    if (!frames) {
      frames = new FrameTable();
      this.frames.set(proc, frames);
    }
    return frames;
  }

  private imageOf(proc: Proc): ProcessImage {
    let image = this.images.get(proc);
    if (!image) {
      image = { program: proc.program };
      this.images.set(proc, image);
    }
    return image;
  }
}
