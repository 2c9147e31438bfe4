import type { KernelFd } from '../proc/proc-view.js';
import { FdTable } from './fd-table.js';
import { annotationFromLink } from '../trace/kernel-link.js';
import { OpenFile, kindOf } from './open-file.js';

/** One fd as the kernel shows it in /proc: what a table starts from. */

const O_ACCMODE = 0o3;
const O_APPEND = 0o2000;

function accessFlags(flags: number): string[] {
  const mode = flags & O_ACCMODE;
  const names = [mode === 0 ? 'O_RDONLY' : mode === 1 ? 'O_WRONLY' : 'O_RDWR'];
  if (flags & O_APPEND) names.push('O_APPEND');
  return names;
}

/**
 * A table from the kernel's view of it: the fds the app starts with, or (`made`)
 * a table read at the fork point, whose fds above stdio nobody saw being made.
 */
export function initialTable(
  fds: KernelFd[],
  passedDown: number[],
  made: 'inherited' | 'unknown' = 'inherited',
): FdTable {
  const table = new FdTable();
  for (const { fd, link, flags, ino } of fds) {
    const annotation = annotationFromLink(link);
    const from = passedDown.includes(fd) ? 'prefork-check' : 'stdio';
    const creator =
      made === 'unknown' && fd > 2 && !passedDown.includes(fd)
        ? ({ type: 'unknown' } as const)
        : ({ type: 'inherited', from } as const);
    const file = new OpenFile(kindOf(annotation, '', []), accessFlags(flags), creator);
    file.learn(annotation);
    file.fileInode = ino;
    // The child gets stdio by dup2, which clears close-on-exec; passed-down fds have it clear already.
    table.set(fd, file, false);
  }
  return table;
}
