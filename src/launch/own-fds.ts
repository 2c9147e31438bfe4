import { readdirSync } from 'node:fs';
import { LIVE_PROC } from '../proc/proc-view.js';
import { O_CLOEXEC } from '../model/open-file.js';

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
  // Links only: this runs on every start of the CLI, and the flags are no guide (above).
  const fds = readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => fd > 2)
    .flatMap((fd) => {
      // undefined: the directory's own fd, closed once listed.
      const link = LIVE_PROC.fdLink(process.pid, fd)?.toString('latin1');
      return link === undefined ? [] : [[fd, link] as const];
    });
  const count = new Map<string, number>();
  for (const [, link] of fds) count.set(link, (count.get(link) ?? 0) + 1);
  startFds = new Map(
    fds.filter(([, link]) => !link.startsWith('anon_inode:') && !(link.startsWith('pipe:') && count.get(link)! > 1)),
  );
}

/**
 * fds above stdio that this process would pass to any child: the ones it inherited without
 * close-on-exec (CI runners and shells leave some open). Node's own fds are all close-on-exec.
 * With `started`, also those the CLI was started with that Node marked close-on-exec.
 */
export function inheritableOwnFds(started = false): number[] {
  return LIVE_PROC.fds('self')
    .filter(
      (info) =>
        info.fd > 2 && (!isCloexec(info.flags) || (started && startFds?.get(info.fd) === info.link.toString('latin1'))),
    )
    .map((info) => info.fd);
}
