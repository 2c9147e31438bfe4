import type { Annotation } from '../trace/annotation.js';

export const FD_KINDS = [
  'file',
  'socket',
  'pipe',
  'fifo',
  'directory',
  'device',
  'eventfd',
  'epoll',
  'memfd',
  'signalfd',
  'timerfd',
  'inotify',
  'other',
] as const;
export type FdKind = (typeof FD_KINDS)[number];

/** Who made an fd: a traced syscall, or the process that started the app. */
export type Creator =
  | { type: 'syscall'; pid: number; tid: number; program: string; syscall: string }
  | { type: 'inherited'; from: 'stdio' | 'prefork-check' }
  /** Met in use without the trace showing where it came from. */
  | { type: 'unknown' };

export interface SocketState {
  /** strace's protocol name: TCP, TCPv6, UDP, UDPv6, UNIX-STREAM, UNIX, NETLINK, ... */
  protocol: string;
  /** `AF_INET`, `AF_UNIX`, ... from socket()/socketpair(), when seen. */
  family?: string;
  inode?: number;
  local?: string;
  peer?: string;
  unixPath?: string;
  listening?: boolean;
  fromSocketpair?: boolean;
}

/** A unix socket's peer known only by its inode (`12345`), not by a path. */
export function isInodePeer(peer: string): boolean {
  return /^\d+$/.test(peer);
}

/** The peer to keep: a unix peer's path (from connect) says more than the peer's inode an annotation shows. */
export function betterPeer(known: string | undefined, offered: string): string {
  return known !== undefined && !isInodePeer(known) && isInodePeer(offered) ? known : offered;
}

/** O_CLOEXEC's bit, for flags given as a number (/proc's fdinfo, TIOCGPTPEER's argument). */
export const O_CLOEXEC = 0o2000000;

/**
 * An open file description: what dup() shares and fork() copies a reference to.
 * Mutable, because strace tells more about a socket (its addresses) over time.
 */
export class OpenFile {
  path?: string;
  device?: 'char' | 'block';
  /** A pipe's inode. */
  inode?: number;
  /** A file's inode, where prefork-check's own tracer gave it: the file is known by it once renamed or unlinked. */
  fileInode?: string;
  anon?: string;
  socket?: SocketState;
  /** Set when the model met this fd in use without having seen it created. */
  unaccounted = false;
  /** Its path was unlinked (O_TMPFILE, mkstemp then unlink): the name is gone, the file is not. */
  deleted = false;
  /** The path it was opened at, where the kernel's table names it otherwise now (renamed since). */
  openedAs?: string;

  constructor(
    public kind: FdKind,
    /** Open/status flags given at creation, e.g. `['O_WRONLY', 'O_APPEND']`. */
    readonly flags: string[],
    readonly createdBy: Creator,
  ) {}

  /** Folds in what an annotation says about this description. */
  learn(annotation: Annotation | undefined): void {
    if (annotation === undefined) return;
    switch (annotation.type) {
      case 'path':
        this.path ??= annotation.path;
        // A memfd is always "(deleted)" to the kernel: it never had a name to lose.
        if (annotation.deleted && !annotation.path.startsWith('/memfd:')) this.deleted = true;
        if (annotation.device) this.device = annotation.device;
        this.fileInode ??= annotation.ino;
        break;
      case 'pipe':
        this.inode = annotation.inode;
        break;
      case 'anon':
        // The kernel's own spelling, as /proc/PID/fd shows it.
        this.anon = anonTarget(annotation.name);
        break;
      case 'socket': {
        const socket = (this.socket ??= { protocol: annotation.protocol });
        if (annotation.protocol !== 'socket') socket.protocol = annotation.protocol;
        if (annotation.inode !== undefined) socket.inode = annotation.inode;
        if (annotation.local !== undefined) socket.local = annotation.local;
        if (annotation.peer !== undefined) socket.peer = betterPeer(socket.peer, annotation.peer);
        if (annotation.unixPath !== undefined) socket.unixPath = annotation.unixPath;
        break;
      }
      case 'other':
        this.anon ??= annotation.text;
        break;
    }
  }
}

/** An anonymous inode as the kernel spells it in /proc/PID/fd: `anon_inode:[eventfd]`, `anon_inode:inotify`. */
export function anonTarget(name: string): string {
  return name === 'inotify' ? 'anon_inode:inotify' : `anon_inode:[${name}]`;
}

/** Kind of a new fd from its annotation, with the creating syscall deciding where the annotation cannot. */
export function kindOf(annotation: Annotation | undefined, syscall: string, flags: string[]): FdKind {
  switch (syscall) {
    case 'eventfd':
    case 'eventfd2':
      return 'eventfd';
    case 'epoll_create':
    case 'epoll_create1':
      return 'epoll';
    case 'memfd_create':
      return 'memfd';
    case 'signalfd':
    case 'signalfd4':
      return 'signalfd';
    case 'timerfd_create':
      return 'timerfd';
    case 'inotify_init':
    case 'inotify_init1':
      return 'inotify';
    case 'pipe':
    case 'pipe2':
      return 'pipe';
    case 'socket':
    case 'socketpair':
    case 'accept':
    case 'accept4':
      return 'socket';
  }
  if (annotation === undefined) return 'other';
  switch (annotation.type) {
    case 'path':
      if (annotation.device) return 'device';
      if (annotation.path.startsWith('/memfd:')) return 'memfd';
      return flags.includes('O_DIRECTORY') ? 'directory' : 'file';
    case 'socket':
      return 'socket';
    case 'pipe':
      return 'pipe';
    case 'anon':
      return kindOfAnonInode(annotation.name);
    case 'other':
      return 'other';
  }
}

function kindOfAnonInode(name: string): FdKind {
  switch (name) {
    case 'eventfd':
      return 'eventfd';
    case 'eventpoll':
      return 'epoll';
    case 'signalfd':
      return 'signalfd';
    case 'timerfd':
      return 'timerfd';
    case 'inotify':
      return 'inotify';
    default:
      return 'other';
  }
}
