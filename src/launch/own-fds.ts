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

/** The fds this process started with, by number and link, as far as they can be told from Node's own. */
let startFds: Map<number, string> | undefined;

/**
 * Remembers the fds the CLI was started with. Node marks some of them close-on-exec as it starts
 * (fd 7 from `exec 7<file` is, fd 20 is not), so that bit cannot tell them from Node's own. The
 * fds Node has made by the time our code runs are anonymous inodes and pipes it holds both ends
 * of; every other fd above stdio came from our parent.
 */
export function rememberStartFds(): void {
  const fds = readKernelFds('self').filter((info) => info.fd > 2);
  const links = fds.map((info) => info.link.toString('latin1'));
  const count = new Map<string, number>();
  for (const link of links) count.set(link, (count.get(link) ?? 0) + 1);
  startFds = new Map(
    fds
      .map((info, i) => [info.fd, links[i]!] as const)
      .filter(([, link]) => !link.startsWith('anon_inode:') && !(link.startsWith('pipe:') && count.get(link)! > 1)),
  );
}

/**
 * fds above stdio that this process would pass to any child: the ones it inherited without
 * close-on-exec (CI runners and shells leave some open). Node's own fds are all close-on-exec.
 * With `started`, also those the CLI was started with that Node marked close-on-exec.
 */
export function inheritableOwnFds(started = false): number[] {
  return readKernelFds('self')
    .filter(
      (info) =>
        info.fd > 2 && (!isCloexec(info.flags) || (started && startFds?.get(info.fd) === info.link.toString('latin1'))),
    )
    .map((info) => info.fd);
}
