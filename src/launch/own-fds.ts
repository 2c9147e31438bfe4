import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { KernelFd } from '../model/initial-table.js';
import { O_CLOEXEC } from '../model/open-file.js';

/** Reads one fd of a live process as the kernel sees it (as fd `as`, when it is passed on as another), or undefined when it is gone. */
export function readKernelFd(pid: number | 'self', fd: number, as = fd): KernelFd | undefined {
  try {
    const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'buffer' });
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
    const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
    return { fd: as, link, flags };
  } catch {
    return undefined;
  }
}

/** Every fd of a live process as the kernel sees it, in fd order; empty when it is gone. */
export function readKernelFds(pid: number | 'self'): KernelFd[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return names
    .map(Number)
    .sort((a, b) => a - b)
    .map((fd) => readKernelFd(pid, fd))
    .filter((fd) => fd !== undefined);
}

/** Whether the kernel flags say close-on-exec. */
function isCloexec(flags: number): boolean {
  return (flags & O_CLOEXEC) !== 0;
}

/**
 * fds above stdio that this process would pass to any child: the ones it
 * inherited without close-on-exec (CI runners and shells leave some open).
 * Node's own fds are all close-on-exec.
 */
export function inheritableOwnFds(): number[] {
  return readKernelFds('self')
    .filter((info) => info.fd > 2 && !isCloexec(info.flags))
    .map((info) => info.fd);
}
