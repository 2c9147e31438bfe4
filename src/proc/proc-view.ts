import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

/** One fd of a process as the kernel shows it: its link (`/path`, `socket:[123]`) and open flags. */
export interface KernelFd {
  fd: number;
  link: Buffer;
  flags: number;
  /** A file's inode (not a device's, nor what has no path), from a stat of the fd's link: how it is known again once renamed. */
  ino?: string;
}

export const SOCKET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'unix'] as const;
/** The texts of /proc/PID/net/{tcp,tcp6,udp,udp6,unix}. */
export type SocketTableTexts = Partial<Record<(typeof SOCKET_TABLES)[number], string>>;

/**
 * What a check reads of the live processes it traces, in one place: the model, the description
 * of the table and the fork point's decisions take it as a parameter. A recorded trace is replayed
 * with `NO_PROC`, which knows nothing, so the replay never reads an unrelated process that has
 * one of the trace's pids now.
 */
export interface ProcView {
  /** A task's thread group and parent; undefined when it cannot be read (gone). */
  taskIds(tid: number): { tgid: number; ppid: number } | undefined;
  /** An fd's link as the kernel gives it, as bytes; undefined when gone. */
  fdLink(pid: number, fd: number): Buffer | undefined;
  /** Every fd of a process, in fd order; empty when it is gone. */
  fds(pid: number | 'self'): KernelFd[];
  /** The socket tables of the process's network namespace (ours, once it is gone). */
  socketTables(pid: number): SocketTableTexts;
  /** A task's state letter (R, S, D, t, ...); undefined when gone. */
  taskState(tid: number): string | undefined;
  /** The number of the call a task is in ("running" and "-1" are none); 'unreadable' without ptrace rights. */
  syscallNumber(tid: number): number | 'unreadable' | undefined;
  /** The threads of a process; empty when it is gone. */
  threads(pid: number): number[];
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** One fd of a live process (as fd `as`, when it is passed on as another), or undefined when it is gone. */
export function readKernelFd(pid: number | 'self', fd: number, as = fd): KernelFd | undefined {
  return attempt(() => {
    const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' });
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
    const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    if (link[0] !== 0x2f) return { fd: as, link, flags };
    // A file's inode as prefork-check's own tracer notes it (a stat of the link; not a device's).
    const stat = statSync(`/proc/${pid}/fd/${fd}`, { bigint: true, throwIfNoEntry: false });
    if (stat === undefined || stat.isCharacterDevice() || stat.isBlockDevice()) return { fd: as, link, flags };
    return { fd: as, link, flags, ino: String(stat.ino) };
  });
}

/** The machine's own /proc. */
export const LIVE_PROC: ProcView = {
  taskIds(tid) {
    const status = attempt(() => readFileSync(`/proc/${tid}/status`, 'latin1'));
    if (status === undefined) return undefined;
    return {
      tgid: Number(/^Tgid:\s+(\d+)/m.exec(status)?.[1]),
      ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]),
    };
  },
  fdLink: (pid, fd) => attempt(() => readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' })),
  fds(pid) {
    const names = attempt(() => readdirSync(`/proc/${pid}/fd`)) ?? [];
    return names
      .map(Number)
      .sort((a, b) => a - b)
      .map((fd) => readKernelFd(pid, fd))
      .filter((fd) => fd !== undefined);
  },
  socketTables(pid) {
    const texts: SocketTableTexts = {};
    // Once the process is gone, our own view of the (almost always shared) network namespace stands in.
    for (const name of SOCKET_TABLES)
      texts[name] =
        attempt(() => readFileSync(`/proc/${pid}/net/${name}`, 'latin1')) ??
        attempt(() => readFileSync(`/proc/self/net/${name}`, 'latin1'));
    return texts;
  },
  taskState: (tid) => attempt(() => /\) (\S)/.exec(readFileSync(`/proc/${tid}/stat`, 'latin1'))?.[1]),
  syscallNumber(tid) {
    // "43 0x3 ..." while in a call; "running", or "-1 ..." outside one. Reading it takes ptrace rights.
    const text = attempt(() => readFileSync(`/proc/${tid}/syscall`, 'latin1'));
    if (text === undefined) return 'unreadable';
    const number = Number(text.split(' ', 1)[0]);
    return Number.isInteger(number) && number >= 0 ? number : undefined;
  },
  threads: (pid) => (attempt(() => readdirSync(`/proc/${pid}/task`)) ?? []).map(Number),
};

/** Nothing is known: for a recorded trace, whose processes are long gone. */
export const NO_PROC: ProcView = {
  taskIds: () => undefined,
  fdLink: () => undefined,
  fds: () => [],
  socketTables: () => ({}),
  taskState: () => undefined,
  syscallNumber: () => undefined,
  threads: () => [],
};
