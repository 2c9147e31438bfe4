/**
 * What a syscall does, as a check cares:
 * - `creates`: returns a new open file description (or two: pipe, socketpair);
 * - `duplicates`: puts an existing description at another fd;
 * - `closes`: takes fds out of the table;
 * - `changes`: changes an fd in place (close-on-exec, a socket's addresses, a table of its own);
 * - `writes`: puts bytes into the fd in argument `fd` (a marker may come by any of them);
 * - `accepts`: takes a connection from a listening socket (a worker serving);
 * - `forks`, `execs`, `exits`: process life.
 */
export type SyscallRole =
  'creates' | 'duplicates' | 'closes' | 'changes' | 'writes' | 'accepts' | 'forks' | 'execs' | 'exits';

export interface Syscall {
  does: readonly SyscallRole[];
  /** For `writes`: the argument that is the fd written to. */
  fd?: number;
  /** The fd it makes is close-on-exec whatever the flags say. */
  cloexec?: true;
  /** Newer than some strace still in use: traced only if strace knows it. */
  optional?: true;
}

const creates: Syscall = { does: ['creates'] };
const newer: Syscall = { does: ['creates'], optional: true };
const changes: Syscall = { does: ['changes'] };
const writes = (fd: number, optional?: true): Syscall => ({ does: ['writes'], fd, ...(optional ? { optional } : {}) });

/** Every syscall a check traces or names, keyed by name: the one list. */
export const SYSCALLS: Readonly<Record<string, Syscall>> = {
  open: creates,
  openat: creates,
  openat2: newer,
  creat: creates,
  open_by_handle_at: creates,
  socket: creates,
  socketpair: creates,
  pipe: creates,
  pipe2: creates,
  accept: { does: ['creates', 'accepts'] },
  accept4: { does: ['creates', 'accepts'] },
  eventfd: creates,
  eventfd2: creates,
  epoll_create: creates,
  epoll_create1: creates,
  memfd_create: creates,
  memfd_secret: newer,
  signalfd: { does: ['creates', 'changes'] },
  signalfd4: { does: ['creates', 'changes'] },
  timerfd_create: creates,
  inotify_init: creates,
  inotify_init1: creates,
  fanotify_init: creates,
  userfaultfd: creates,
  perf_event_open: creates,
  pidfd_open: { does: ['creates'], cloexec: true, optional: true },
  pidfd_getfd: { does: ['creates'], cloexec: true, optional: true },
  io_uring_setup: { does: ['creates'], cloexec: true, optional: true },
  mq_open: creates,
  fsopen: newer,
  fsmount: newer,
  fspick: newer,
  open_tree: newer,
  bpf: { does: ['creates'], cloexec: true },
  landlock_create_ruleset: { does: ['creates'], cloexec: true, optional: true },
  seccomp: { does: ['creates'], cloexec: true },
  ioctl: { does: ['creates', 'changes'] },
  recvmsg: creates,
  recvmmsg: creates,
  dup: { does: ['duplicates'] },
  dup2: { does: ['duplicates', 'closes'] },
  dup3: { does: ['duplicates', 'closes'] },
  fcntl: { does: ['duplicates', 'changes'] },
  close: { does: ['closes'] },
  close_range: { does: ['closes', 'changes'], optional: true },
  unshare: changes,
  bind: changes,
  connect: changes,
  listen: changes,
  write: writes(0),
  writev: writes(0),
  pwrite64: writes(0),
  pwritev: writes(0),
  pwritev2: writes(0, true),
  sendto: writes(0),
  sendmsg: writes(0),
  vmsplice: writes(0),
  sendfile: writes(0),
  splice: writes(2),
  tee: writes(1),
  copy_file_range: writes(2, true),
  clone: { does: ['forks', 'creates'] },
  clone3: { does: ['forks', 'creates'], optional: true },
  fork: { does: ['forks'] },
  vfork: { does: ['forks'] },
  execve: { does: ['execs'] },
  execveat: { does: ['execs'] },
  exit_group: { does: ['exits'] },
};

/** The names of the syscalls that do `role`. */
export function syscallsThat(role: SyscallRole): ReadonlySet<string> {
  return new Set(Object.keys(SYSCALLS).filter((name) => SYSCALLS[name]!.does.includes(role)));
}

/** The fd argument of a call that writes, or undefined for any other call. */
export function writtenFdArgument(name: string): number | undefined {
  const call = SYSCALLS[name];
  return call?.does.includes('writes') ? call.fd : undefined;
}
