import type { KernelFd } from '../proc/proc-view.js';
import { annotationFromLink } from '../trace/kernel-link.js';
import type { Annotation } from '../trace/annotation.js';
import type { FdSlot, FdTable } from './fd-table.js';
import { initialTable } from './initial-table.js';
import { O_CLOEXEC, type OpenFile } from './open-file.js';

/** What kind of thing an fd is, as far as both the trace and the kernel's link can tell. */
function classOf(file: OpenFile): Annotation['type'] {
  if (file.socket || file.kind === 'socket') return 'socket';
  if (file.kind === 'pipe') return 'pipe';
  if (file.path !== undefined) return 'path';
  return 'anon';
}

function kernelClassOf(annotation: Annotation): Annotation['type'] {
  return annotation.type === 'other' ? 'anon' : annotation.type;
}

const ACCESS_MODES = ['O_RDONLY', 'O_WRONLY', 'O_RDWR'];

/**
 * Whether the kernel's fd may be the description the model holds at that number: the same kind of
 * thing, the same thing where both name it (a file's inode where both know it, else its path; a
 * pipe's or a socket's inode), with the close-on-exec the trace last set (every change of it is
 * traced) and, where the trace knows it, the same access mode (which never changes). Otherwise
 * the model's was closed unseen and this one made where the trace cannot see. (Known by its path
 * only, as strace tells it, a file renamed since it was opened is then taken as made unseen.)
 */
function mayBeSame(slot: FdSlot, fd: KernelFd, kernel: Annotation): boolean {
  if (classOf(slot.file) !== kernelClassOf(kernel)) return false;
  if (!sameThing(slot.file, kernel, fd.ino)) return false;
  if (slot.cloexec !== ((fd.flags & O_CLOEXEC) !== 0)) return false;
  const mode = slot.file.flags.find((flag) => ACCESS_MODES.includes(flag));
  return mode === undefined || mode === ACCESS_MODES[fd.flags & 3];
}

/** Whether what the model knows of a description names what the kernel's link names, where both name it. */
function sameThing(file: OpenFile, kernel: Annotation, ino: string | undefined): boolean {
  const differ = <T>(known: T | undefined, seen: T | undefined) =>
    known !== undefined && seen !== undefined && known !== seen;
  // A file renamed or unlinked since it was opened has another name now, and the same inode.
  if (kernel.type === 'path' && file.fileInode !== undefined && ino !== undefined) return file.fileInode === ino;
  if (kernel.type === 'path') return !differ(file.path, kernel.path);
  if (kernel.type === 'pipe') return !differ(file.inode, kernel.inode);
  if (kernel.type === 'socket') return !differ(file.socket?.inode, kernel.inode);
  return true;
}

/**
 * Makes `table` the kernel's own, read while its process was held at the call about to be applied
 * (prefork-check's tracer reads it where a fork point may be). An fd the kernel no longer has was
 * closed where the trace could not see; an fd the model lacks, or holds as another description
 * (mayBeSame), was made where the trace cannot see (io_uring, fanotify): it is added as the kernel
 * shows it, unaccounted. An fd both have keeps what the trace knows of it (its maker, its line),
 * under the kernel's name for it.
 */
export function reconcileWithKernel(table: FdTable, fds: KernelFd[]): void {
  const kernel = new Map(fds.map((fd) => [fd.fd, fd]));
  for (const fd of [...table.slots.keys()]) if (!kernel.has(fd)) table.close(fd);
  const unseen: KernelFd[] = [];
  for (const fd of fds) {
    const slot = table.get(fd.fd);
    // An fd the model lacks has its link read once, by addUnseen.
    if (!slot) {
      unseen.push(fd);
      continue;
    }
    const named = annotationFromLink(fd.link);
    if (!mayBeSame(slot, fd, named)) unseen.push(fd);
    else if (named.type === 'path') nameAsKernel(slot.file, named);
  }
  addUnseen(table, unseen);
  table.kernelRead = true;
}

/** The kernel's name for a file the model knows: its name now (renamed since it was opened), and whether it was unlinked. */
function nameAsKernel(file: OpenFile, kernel: Extract<Annotation, { type: 'path' }>): void {
  if (file.path !== undefined && file.path !== kernel.path) file.openedAs ??= file.path;
  file.path = kernel.path;
  file.learn(kernel);
}

/** Puts fds the kernel shows and the trace never showed being made into `table`, as the kernel shows them, unaccounted. */
export function addUnseen(table: FdTable, unseen: KernelFd[]): void {
  const made = initialTable(unseen, [], 'unknown');
  for (const fd of unseen) {
    const file = made.get(fd.fd)!.file;
    file.unaccounted = true;
    table.set(fd.fd, file, (fd.flags & O_CLOEXEC) !== 0);
  }
}
