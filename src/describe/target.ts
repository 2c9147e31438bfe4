import { isInodePeer, type OpenFile, type SocketState } from '../model/open-file.js';
import type { FdRecord } from '../report/types.js';

/** A socket's family as reports and rules name it: tcp, udp, unix, netlink, ... */
export function socketFamilyName(socket: SocketState): string {
  const protocol = socket.protocol.toUpperCase();
  if (protocol.startsWith('TCP')) return 'tcp';
  if (protocol.startsWith('UDPLITE')) return 'udplite';
  if (protocol.startsWith('UDP')) return 'udp';
  if (protocol.startsWith('UNIX') || socket.family === 'AF_UNIX') return 'unix';
  if (protocol.startsWith('NETLINK') || socket.family === 'AF_NETLINK') return 'netlink';
  if (socket.family === 'AF_INET' || socket.family === 'AF_INET6')
    return socket.protocol === 'socket' ? 'inet' : protocol.toLowerCase();
  return protocol === 'SOCKET' ? 'socket' : protocol.toLowerCase();
}

/** `tcp 127.0.0.1:8000`, `tcp 127.0.0.1:43210 -> 127.0.0.1:8000`, `udp ...`, `unix /path`. */
export function socketTarget(socket: SocketState): string {
  const family = socketFamilyName(socket);
  if (family === 'unix') {
    if (socket.unixPath) return `unix ${socket.unixPath}`;
    // A peer that is a path (from connect); inode-only peers say nothing to a reader.
    if (socket.peer && !isInodePeer(socket.peer)) return `unix -> ${socket.peer}`;
    return socket.fromSocketpair ? 'unix socketpair' : 'unix (unnamed)';
  }
  // A port still 0 was picked by the OS and never shown (bound, not listening: not in /proc/net either).
  const local = socket.local?.replace(/:0$/, ':?');
  if (local && socket.peer) return `${family} ${local} -> ${socket.peer}`;
  if (local) return `${family} ${local}`;
  if (socket.peer) return `${family} ? -> ${socket.peer}`;
  return `${family} (unbound)`;
}

const DELETED = ' (deleted)';

/**
 * A record's target as rules and baselines match it: a file by the path it was opened at, without
 * the kernel's ` (deleted)`. Both tracers know that path; a rename or unlink since shows in
 * prefork-check's own tracer (it reads the kernel's table) and, by timing, in strace (from the fd's
 * next use, or the kernel's link while the app still runs): no excuse may depend on either.
 */
export function stableTarget(record: Pick<FdRecord, 'target' | 'deleted' | 'openedAs'>): string {
  if (record.openedAs !== undefined) return record.openedAs;
  return record.deleted && record.target.endsWith(DELETED) ? record.target.slice(0, -DELETED.length) : record.target;
}

/** What an fd refers to, in one line: a path, a socket's addresses, or the kernel's name. */
export function targetOf(file: Pick<OpenFile, 'socket' | 'path' | 'deleted' | 'kind' | 'inode' | 'anon'>): string {
  if (file.socket) return socketTarget(file.socket);
  if (file.path !== undefined) return file.deleted ? `${file.path}${DELETED}` : file.path;
  if (file.kind === 'pipe' && file.inode !== undefined) return `pipe:[${file.inode}]`;
  if (file.anon !== undefined) return file.anon;
  return file.kind;
}
