import { parseFdRef, type FdRef } from '../trace/annotation.js';
import type { SyscallEvent } from '../trace/events.js';
import { parseResult } from '../trace/result.js';
import { findClose, splitTopLevel } from '../trace/scan.js';
import type { Duplication } from './fd-table.js';
import { O_CLOEXEC, OpenFile, betterPeer, kindOf } from './open-file.js';
import { creatorOf, type Task } from './task.js';
import { hasPort, parseSockaddr } from '../trace/sockaddr.js';
import { SYSCALLS } from '../trace/syscalls.js';

type Handler = (task: Task, args: string[], event: SyscallEvent, returned: FdRef | undefined) => void;

/** Whether the fd a call makes is close-on-exec whatever the flags say. */
const alwaysCloexec = (name: string) => SYSCALLS[name]?.cloexec === true;

function flagsOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  const inner = /flags=([A-Z0-9_|]+)/.exec(text)?.[1] ?? text;
  return inner.split('|').filter((flag) => /^[A-Z][A-Z0-9_]*$/.test(flag));
}

function hasCloexec(flags: string[]): boolean {
  return flags.some((flag) => flag.endsWith('CLOEXEC'));
}

/** Descriptions made by the syscall being applied; applyFdSyscall hands them back. */
let made: OpenFile[] = [];
/** The dup it made, if any; applyFdSyscall hands it back too. */
let duplicated: Duplication[] = [];
/** The slots it closed (close, close_range, or dup2/dup3 onto an open fd); handed back too. */
let released: Released[] = [];

/** An fd a syscall took out of a table, with the description it held. */
export interface Released {
  fd: number;
  file: OpenFile;
}

/** Closes `fd` in the task's table, noting what it held. */
function release(task: Task, fd: number): void {
  const slot = task.table.get(fd);
  if (slot === undefined) return;
  released.push({ fd, file: slot.file });
  task.table.close(fd);
}

/** Adds a new description at `ref.fd`, replacing (implicitly closing) what was there. */
function create(task: Task, event: SyscallEvent, ref: FdRef, flags: string[], cloexec: boolean): OpenFile {
  const file = new OpenFile(
    kindOf(ref.annotation, event.name, flags),
    flags.filter((flag) => !flag.endsWith('CLOEXEC')),
    creatorOf(task, event.name),
  );
  file.learn(ref.annotation);
  task.table.set(ref.fd, file, cloexec);
  made.push(file);
  return file;
}

/** Creating call whose flags are the argument at `flagsAt` (or none). */
function creating(flagsAt: number | undefined): Handler {
  return (task, args, event, returned) => {
    if (!returned) return;
    const flags = flagsAt === undefined ? [] : flagsOf(args[flagsAt]);
    create(task, event, returned, flags, alwaysCloexec(event.name) || hasCloexec(flags));
  };
}

/**
 * Calls that return an fd for some requests only (bpf's BPF_MAP_CREATE, seccomp's NEW_LISTENER,
 * a landlock ruleset but not landlock's ABI version): strace's -y annotates the result when it is one.
 */
const creatingWhenAnnotated: Handler = (task, _args, event, returned) => {
  if (returned?.annotation !== undefined) create(task, event, returned, [], alwaysCloexec(event.name));
};

/** Calls that return their fds in an array argument: pipe, pipe2, socketpair. */
function creatingPair(arrayAt: number, flagsAt: number, familyAt?: number): Handler {
  return (task, args, event) => {
    if (!event.result.startsWith('0')) return;
    const flags = flagsOf(args[flagsAt]);
    const list = args[arrayAt] ?? '';
    for (const token of splitTopLevel(list.slice(1, -1))) {
      const ref = parseFdRef(token);
      if (!ref) continue;
      const file = create(task, event, ref, event.name === 'socketpair' ? [] : flags, hasCloexec(flags));
      if (file.socket && familyAt !== undefined) {
        file.socket.family = args[familyAt];
        file.socket.fromSocketpair = true;
      }
    }
  };
}

/** dup family: the new fd shares the old one's description. */
function duplicate(task: Task, event: SyscallEvent, oldFd: FdRef | undefined, newFd: number, cloexec: boolean): void {
  if (!oldFd) return;
  const file = task.table.get(oldFd.fd)?.file ?? unaccounted(task, oldFd);
  if (oldFd.fd === newFd) return;
  const replaced = task.table.get(newFd);
  if (replaced && replaced.file !== file) released.push({ fd: newFd, file: replaced.file });
  const dup: Duplication = { creator: creatorOf(task, event.name), of: oldFd.fd };
  task.table.set(newFd, file, cloexec, dup);
  duplicated.push(dup);
}

/** An fd the trace never showed being made; kept and marked rather than guessed. */
function unaccounted(task: Task, ref: FdRef): OpenFile {
  const file = new OpenFile(kindOf(ref.annotation, '', []), [], { type: 'unknown' });
  file.unaccounted = true;
  file.learn(ref.annotation);
  task.table.set(ref.fd, file, false);
  return file;
}

function isBlank(file: OpenFile): boolean {
  return file.path === undefined && file.inode === undefined && file.anon === undefined && file.socket === undefined;
}

/** A successful call using an fd argument tells us more about it, or reveals it. */
function refresh(task: Task, ref: FdRef | undefined): OpenFile | undefined {
  if (!ref || ref.fd < 0) return undefined;
  const slot = task.table.get(ref.fd);
  if (slot) {
    const file = slot.file;
    if (ref.annotation?.type === 'socket') file.learn(ref.annotation);
    // Made by a call strace shows no target for (TIOCGPTPEER's "= 4"): the first annotation names it.
    else if (ref.annotation && isBlank(file)) {
      file.learn(ref.annotation);
      file.kind = kindOf(ref.annotation, '', file.flags);
    }
    return file;
  }
  return ref.annotation ? unaccounted(task, ref) : undefined;
}

/** `refresh` for the leading fd argument of a call the model does not otherwise read (write, ...). */
function refreshLeadingFd(task: Task, args: string): void {
  const fd = Number.parseInt(args, 10);
  const slot = task.table.get(fd);
  // Only sockets change what their annotation says; skip parsing for the rest.
  if (slot && slot.file.kind !== 'socket') return;
  refresh(task, parseFdRef(args));
}

function learnAddress(file: OpenFile | undefined, sockaddr: string | undefined, side: 'local' | 'peer'): void {
  if (!file || sockaddr === undefined) return;
  const parsed = parseSockaddr(sockaddr);
  if (!parsed || parsed.address === '') return;
  const socket = (file.socket ??= { protocol: 'socket' });
  socket.family ??= parsed.family;
  if (parsed.family === 'AF_UNIX') {
    if (side === 'local') socket.unixPath ??= parsed.address;
    // Also over the peer's inode, which prefork-check's own tracer shows on this very line.
    else socket.peer = betterPeer(socket.peer, parsed.address);
  } else if (side === 'local') {
    // Port 0 asks the OS to pick one; which, only a later annotation or /proc/net can tell.
    socket.local ??= parsed.address;
  } else if (hasPort(parsed.address)) {
    socket.peer ??= parsed.address;
  }
}

function parseFdNumber(text: string | undefined): number {
  const value = Number.parseInt(text ?? '', 10);
  return Number.isNaN(value) ? -1 : value;
}

/** fds passed with SCM_RIGHTS arrive as new descriptions in the receiver. */
function receiveRights(task: Task, args: string[], event: SyscallEvent): void {
  const cloexec = (args.at(-1) ?? '').includes('MSG_CMSG_CLOEXEC');
  const text = args.join(', ');
  const marker = 'SCM_RIGHTS, cmsg_data=[';
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
    const start = at + marker.length;
    const end = findClose(text, start);
    for (const token of splitTopLevel(text.slice(start, end < 0 ? undefined : end))) {
      const ref = parseFdRef(token);
      if (ref) create(task, event, ref, [], cloexec);
    }
  }
}

/**
 * With CLONE_PIDFD the kernel puts a pidfd for the child in the parent's table as the clone
 * returns (after copying the table for the child, which does not get it): clone writes it to
 * parent_tid, clone3 to its pidfd field. Always close-on-exec.
 */
const clonePidfd: Handler = (task, _args, event) => {
  if (!(Number.parseInt(event.result, 10) > 0) || !event.args.includes('CLONE_PIDFD')) return;
  const at = /(?:parent_tid|pidfd)=\[/.exec(event.args);
  const ref = at && parseFdRef(event.args.slice(at.index + at[0].length));
  if (ref) create(task, event, ref, [], true);
};

const HANDLERS: Record<string, Handler> = {
  open: creating(1),
  openat: creating(2),
  openat2: creating(2),
  creat: (task, _args, event, returned) =>
    returned && void create(task, event, returned, ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], false),
  open_by_handle_at: creating(2),
  socket: (task, args, event, returned) => {
    if (!returned) return;
    const type = flagsOf(args[1]);
    const file = create(task, event, returned, [], hasCloexec(type));
    if (file.socket) file.socket.family = args[0];
  },
  socketpair: creatingPair(3, 1, 0),
  pipe: creatingPair(0, 1),
  pipe2: creatingPair(0, 1),
  accept: (task, args, event, returned) => acceptSocket(task, args, event, returned, []),
  accept4: (task, args, event, returned) => acceptSocket(task, args, event, returned, flagsOf(args[3])),
  eventfd: creating(undefined),
  eventfd2: creating(1),
  epoll_create: creating(undefined),
  epoll_create1: creating(0),
  memfd_create: creating(1),
  memfd_secret: creating(0),
  signalfd: (task, args, event, returned) => {
    if (returned && parseFdNumber(args[0]) === -1) create(task, event, returned, [], false);
  },
  signalfd4: (task, args, event, returned) => {
    if (returned && parseFdNumber(args[0]) === -1) create(task, event, returned, [], hasCloexec(flagsOf(args[3])));
  },
  timerfd_create: creating(1),
  inotify_init: creating(undefined),
  inotify_init1: creating(0),
  fanotify_init: creating(0),
  userfaultfd: creating(0),
  perf_event_open: creating(4),
  pidfd_open: creating(undefined),
  mq_open: creating(1),
  // The mount API's contexts and mounts, and open_tree's handle on a path.
  fsopen: creating(1),
  fsmount: creating(1),
  fspick: creating(2),
  open_tree: creating(2),
  bpf: creatingWhenAnnotated,
  landlock_create_ruleset: creatingWhenAnnotated,
  seccomp: creatingWhenAnnotated,
  clone: clonePidfd,
  clone3: clonePidfd,
  pidfd_getfd: creating(undefined),
  io_uring_setup: creating(undefined),
  dup: (task, args, event, returned) =>
    returned && duplicate(task, event, parseFdRef(args[0] ?? ''), returned.fd, false),
  dup2: (task, args, event, returned) =>
    returned && duplicate(task, event, parseFdRef(args[0] ?? ''), returned.fd, false),
  dup3: (task, args, event, returned) =>
    returned && duplicate(task, event, parseFdRef(args[0] ?? ''), returned.fd, hasCloexec(flagsOf(args[2]))),
  fcntl: (task, args, event, returned) => {
    const command = args[1];
    const fd = parseFdRef(args[0] ?? '');
    if (command === 'F_DUPFD' || command === 'F_DUPFD_CLOEXEC') {
      if (returned) duplicate(task, event, fd, returned.fd, command === 'F_DUPFD_CLOEXEC');
    } else if (command === 'F_SETFD' && fd && event.result.startsWith('0')) {
      refresh(task, fd);
      task.table.setCloexec(fd.fd, (args[2] ?? '').includes('FD_CLOEXEC') || args[2] === '1');
    }
  },
  ioctl: (task, args, event, returned) => {
    // A pty's other end, opened from its master: glibc's openpty and forkpty make the slave so.
    if (args[1] === 'TIOCGPTPEER') {
      if (returned) create(task, event, returned, [], (Number(args[2]) & O_CLOEXEC) !== 0);
      return;
    }
    // Other ioctls that return an fd (NS_GET_USERNS, KVM_CREATE_VM, ...): strace annotates the
    // result when it is one. The kernel makes those close-on-exec.
    if (returned?.annotation !== undefined) {
      create(task, event, returned, [], true);
      return;
    }
    const fd = parseFdRef(args[0] ?? '');
    if (!fd || !event.result.startsWith('0')) return;
    if (args[1] === 'FIOCLEX' || args[1] === 'FIONCLEX') {
      refresh(task, fd);
      task.table.setCloexec(fd.fd, args[1] === 'FIOCLEX');
    }
  },
  close: (task, args, event) => {
    // Linux frees the fd even when close reports EINTR or EIO; only EBADF means nothing was there.
    if (event.result.includes('EBADF')) return;
    const fd = parseFdRef(args[0] ?? '');
    if (!fd) return;
    // A socket's last annotation may say more than any before (a UDP socket's local address, given at connect).
    refresh(task, fd);
    release(task, fd.fd);
  },
  // The calling thread leaves a table it shared (threads, CLONE_FILES) for a copy of its own.
  unshare: (task, args, event) => {
    if (event.result.startsWith('0') && flagsOf(args[0]).includes('CLONE_FILES')) task.table = task.table.copy();
  },
  close_range: (task, args, event) => {
    if (!event.result.startsWith('0')) return;
    const first = parseFdNumber(args[0]);
    const lastValue = Number(args[1]);
    const last = Number.isFinite(lastValue) ? lastValue : Number.POSITIVE_INFINITY;
    const flags = args[2] ?? '';
    if (flags.includes('CLOSE_RANGE_UNSHARE')) task.table = task.table.copy();
    if (flags.includes('CLOSE_RANGE_CLOEXEC'))
      task.table.forRange(first, last, (fd) => task.table.setCloexec(fd, true));
    else task.table.forRange(first, last, (fd) => release(task, fd));
  },
  recvmsg: (task, args, event) => {
    if (event.result[0] !== '-') receiveRights(task, args, event);
  },
  recvmmsg: (task, args, event) => {
    if (event.result[0] !== '-') receiveRights(task, args, event);
  },
  bind: (task, args, event) => {
    if (!event.result.startsWith('0')) return;
    learnAddress(refresh(task, parseFdRef(args[0] ?? '')), args[1], 'local');
  },
  connect: (task, args, event) => {
    // A non-blocking connect reports EINPROGRESS but the peer is set all the same.
    if (!event.result.startsWith('0') && !event.result.includes('EINPROGRESS')) return;
    learnAddress(refresh(task, parseFdRef(args[0] ?? '')), args[1], 'peer');
  },
  listen: (task, args, event) => {
    const file = refresh(task, parseFdRef(args[0] ?? ''));
    if (file?.socket && event.result.startsWith('0')) file.socket.listening = true;
  },
};

function acceptSocket(
  task: Task,
  args: string[],
  event: SyscallEvent,
  returned: FdRef | undefined,
  flags: string[],
): void {
  const listener = refresh(task, parseFdRef(args[0] ?? ''));
  if (!returned) return;
  const file = create(task, event, returned, [], hasCloexec(flags));
  const socket = (file.socket ??= { protocol: listener?.socket?.protocol ?? 'socket' });
  socket.family ??= listener?.socket?.family;
  socket.local ??= listener?.socket?.local;
  learnAddress(file, args[1], 'peer');
}

/** Syscalls the model applies (SYSCALLS says what each does). Everything else only refreshes its fd's annotation. */
export const FD_SYSCALLS = Object.keys(HANDLERS);

/** What one syscall did to a table: descriptions it made, dups it made, slots it closed. */
export interface FdChanges {
  made: OpenFile[];
  duplicated: Duplication[];
  released: Released[];
}

/** Applies one fd-changing syscall to the calling task's table; returns what it changed. */
export function applyFdSyscall(task: Task, event: SyscallEvent): FdChanges {
  const handler = HANDLERS[event.name];
  if (handler === undefined) {
    // write, getsockname, ...: only what their fd argument's annotation says.
    if (event.result[0] !== '-') refreshLeadingFd(task, event.args);
    return { made: [], duplicated: [], released: [] };
  }
  const result = parseResult(event.result);
  const returned =
    result.errno === undefined && result.value !== undefined && result.value >= 0 ? result.ref : undefined;
  made = [];
  duplicated = [];
  released = [];
  handler(task, splitTopLevel(event.args), event, returned);
  return { made, duplicated, released };
}
