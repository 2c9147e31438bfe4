import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

export interface KernelFd {
  fd: number;
  /** The `/proc/PID/fd/N` link, raw bytes. */
  link: Buffer;
  /** `flags:` from fdinfo. */
  flags: number;
}

/** Reads one fd of a live process as the kernel sees it, or undefined when it is gone. */
export function readKernelFd(pid: number | 'self', fd: number): KernelFd | undefined {
  try {
    const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' });
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
    const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    return { fd, link, flags };
  } catch {
    return undefined;
  }
}

/** Whether the kernel flags say close-on-exec. */
export function isCloexec(flags: number): boolean {
  return (flags & O_CLOEXEC) !== 0;
}

/**
 * fds above stdio that this process would pass to any child: the ones it
 * inherited without close-on-exec (CI runners and shells leave some open).
 * Node's own fds are all close-on-exec.
 */
export function inheritableOwnFds(): number[] {
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    const info = readKernelFd('self', fd);
    if (info && !isCloexec(info.flags)) fds.push(fd);
  }
  return fds.sort((a, b) => a - b);
}
