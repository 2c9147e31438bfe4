import { statSync } from 'node:fs';
import type { Duplication, FdTable } from '../model/fd-table.js';
import type { OriginFields } from '../attribution/describe-origin.js';
import type { Creator, FdKind, OpenFile, SocketState } from '../model/open-file.js';
import { bytesToText } from '../trace/c-string.js';
import { parseSocketTables, type KernelSocket } from './proc-net.js';
import type { ProcView } from '../proc/proc-view.js';
import { targetOf } from './target.js';
import type { FdRecord } from '../report/types.js';

const STDIO_NAMES = ['stdin', 'stdout', 'stderr'] as const;

/** Refines `file` by what the path is now: a directory, fifo or device opened without saying so. */
function kindOnDisk(file: OpenFile): FdKind {
  if (file.kind !== 'file' || file.path === undefined || file.path.includes('\\')) return file.kind;
  try {
    const stats = statSync(file.path);
    if (stats.isDirectory()) return 'directory';
    if (stats.isFIFO()) return 'fifo';
    if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'device';
    if (stats.isSocket()) return 'socket';
  } catch {
    // Gone (deleted after open): keep what the trace said.
  }
  return file.kind;
}

/** Whether the kernel's link could say more of this fd than the trace did (an unlink after it was opened). */
function needsLink(file: OpenFile): boolean {
  return !file.deleted && file.path !== undefined && !file.socket && file.kind !== 'memfd';
}

/**
 * A file unlinked after it was opened (mkstemp then unlink) shows no sign in the trace until the
 * fd is used again: the kernel's link says so. Only when it still names the same path, so a
 * reused fd number cannot mislead. Gone (no link): what the trace said.
 */
function isDeleted(file: OpenFile, link: Buffer | undefined): boolean {
  return file.deleted || (link !== undefined && bytesToText(link) === `${file.path} (deleted)`);
}

/**
 * A dup's own origin; when no Python call announced it (native code: mmap duplicates the fd it
 * maps), the origin and stack of the fd it copies, said so, rather than none: they still tell
 * whose file it is (a server preset recognises its own by that stack).
 */
function originOfDup(
  dup: Duplication,
  file: OpenFile,
  originOf: (made: OpenFile | Duplication, createdBy: Creator) => OriginFields,
): OriginFields {
  const own = originOf(dup, dup.creator);
  if (own.origin !== null || own.stack.length > 0) return own;
  const original = originOf(file, file.createdBy);
  if (original.origin === null && original.stack.length === 0) return own;
  const syscall = dup.creator.type === 'syscall' ? dup.creator.syscall : 'dup';
  const note = `duplicated by ${syscall} in native code that no Python call announced; the origin and stack are those of the fd it copies`;
  return { ...original, originNote: original.originNote ? `${note}; ${original.originNote}` : note };
}

/** dup2 and dup3 put the copy at a number the caller chose: with the original closed, a renumbering. */
function isRenumbering(dup: Duplication): boolean {
  return dup.creator.type === 'syscall' && (dup.creator.syscall === 'dup2' || dup.creator.syscall === 'dup3');
}

/** A socket the trace saw only partly (an OS-picked port, a client's local end), completed by the kernel's tables. */
function completeSocket(socket: SocketState, kernel: () => Map<number, KernelSocket>): SocketState {
  if (socket.inode === undefined) return socket;
  const unixIncomplete = socket.protocol.startsWith('UNIX') && socket.unixPath === undefined && !socket.fromSocketpair;
  const inetIncomplete =
    !socket.protocol.startsWith('UNIX') && (socket.local === undefined || socket.local.endsWith(':0'));
  if (!unixIncomplete && !inetIncomplete) return socket;
  const known = kernel().get(socket.inode);
  if (!known) return socket;
  const completed = { ...socket };
  if (socket.protocol === 'socket') completed.protocol = known.protocol;
  if (known.local && (socket.local === undefined || socket.local.endsWith(':0'))) completed.local = known.local;
  completed.peer ??= known.peer;
  if (known.listening) completed.listening = true;
  completed.unixPath ??= known.unixPath;
  return completed;
}

/**
 * What the kernel says of one process, each fact read at most once: a second description of its
 * table (after the trace has said more) gets the same answers, even once the process is gone.
 */
export interface KernelFacts {
  /** Its network namespace's sockets, by inode. */
  sockets(): Map<number, KernelSocket>;
  /** An fd's link; undefined when gone. */
  link(fd: number): Buffer | undefined;
}

export function kernelFacts(proc: ProcView, pid: number): KernelFacts {
  let sockets: Map<number, KernelSocket> | undefined;
  const links = new Map<number, Buffer | undefined>();
  return {
    sockets: () => (sockets ??= parseSocketTables(proc.socketTables(pid))),
    link: (fd) => {
      if (!links.has(fd)) links.set(fd, proc.fdLink(pid, fd));
      return links.get(fd);
    },
  };
}

/**
 * The table as report records, sorted by fd; the model is only read. Call it while the process
 * is still alive, or with the facts read then: sockets are completed from its /proc/PID/net.
 */
export function describeTable(
  table: FdTable,
  kernel: KernelFacts,
  originOf: (made: OpenFile | Duplication, createdBy: Creator) => OriginFields,
  stdioOf: (file: OpenFile) => 0 | 1 | 2 | undefined,
): FdRecord[] {
  const records: FdRecord[] = [];
  for (const [fd, { file, cloexec, dup: made }] of table.slots) {
    // A dup is an fd of its own, unless it was made onto a chosen number and its original was
    // then closed (dup2 then close, as shells redirect): that only renumbered the original.
    const original = made && table.get(made.of)?.file === file;
    const dup = made && (original || !isRenumbering(made)) ? made : undefined;
    const socket = file.socket && completeSocket(file.socket, () => kernel.sockets());
    const deleted = isDeleted(file, needsLink(file) ? kernel.link(fd) : undefined);
    const kind = kindOnDisk(file);
    const record: FdRecord = {
      fd,
      kind,
      target: targetOf({ kind, socket, deleted, path: file.path, inode: file.inode, anon: file.anon }),
      flags: file.flags,
      cloexec,
      createdBy: dup?.creator ?? file.createdBy,
      ...(dup ? originOfDup(dup, file, originOf) : originOf(file, file.createdBy)),
    };
    if (dup && original) record.duplicateOf = dup.of;
    if (made && isRenumbering(made)) record.placed = true;
    const inode = socket?.inode ?? file.inode;
    if (inode !== undefined) record.inode = inode;
    if (socket) record.socket = { ...socket };
    if (file.unaccounted) record.unaccounted = true;
    if (deleted) record.deleted = true;
    if (file.openedAs !== undefined) record.openedAs = file.openedAs;
    const stdio = stdioOf(file);
    if (stdio !== undefined) record.stdio = STDIO_NAMES[stdio];
    records.push(record);
  }
  return records.sort((a, b) => a.fd - b.fd);
}
