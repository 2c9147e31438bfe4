import { bytesToText, decodeCString } from './c-string.js';
import { skipAnnotation, skipString } from './scan.js';

/** What strace's -y/-yy says an fd refers to, at the moment of one syscall. */
export type Annotation =
  | { type: 'path'; path: string; device?: 'char' | 'block'; deleted: boolean; ino?: string }
  | { type: 'socket'; protocol: string; inode?: number; local?: string; peer?: string; unixPath?: string }
  | { type: 'pipe'; inode: number }
  | { type: 'anon'; name: string }
  | { type: 'other'; text: string };

export interface FdRef {
  fd: number;
  annotation?: Annotation;
}

/** Parses an fd argument or return value such as `3</etc/hostname>` or `5<TCP:[127.0.0.1:80]>`. */
export function parseFdRef(token: string): FdRef | undefined {
  let i = 0;
  if (token.charCodeAt(0) === 0x2d) i++;
  while (i < token.length && token.charCodeAt(i) >= 0x30 && token.charCodeAt(i) <= 0x39) i++;
  if (i === 0 || (i === 1 && token.charCodeAt(0) === 0x2d)) return undefined;
  const fd = Number(token.slice(0, i));
  if (token.charCodeAt(i) !== 0x3c) return { fd };
  const end = skipAnnotation(token, i);
  return { fd, annotation: parseAnnotation(token.slice(i, end)) };
}

/** A namespace's fd (`/proc/self/ns/net`, NS_GET_USERNS) reads `net:[4026531833]`, as a socket's would. */
const NAMESPACES = new Set([
  'cgroup',
  'ipc',
  'mnt',
  'net',
  'pid',
  'pid_for_children',
  'time',
  'time_for_children',
  'user',
  'uts',
]);

/** Parses one `<...>` annotation, including a trailing `(deleted)`. */
export function parseAnnotation(text: string): Annotation {
  const deleted = text.endsWith('(deleted)');
  const body = text.slice(1, deleted ? text.length - 10 : text.length - 1);
  if (body.startsWith('/')) return parsePath(body, deleted);
  const colon = body.indexOf(':');
  if (colon < 0) return { type: 'other', text: body };
  const kind = body.slice(0, colon);
  const rest = body.slice(colon + 1);
  const inner = rest.startsWith('[') && rest.endsWith(']') ? rest.slice(1, -1) : undefined;
  if (kind === 'pipe' && inner !== undefined) return { type: 'pipe', inode: Number(inner) };
  if (kind === 'anon_inode') return { type: 'anon', name: inner ?? rest };
  if (kind === 'pid') return { type: 'anon', name: 'pidfd' };
  if (inner === undefined || NAMESPACES.has(kind)) return { type: 'other', text: body };
  return parseSocket(kind === 'socket' ? 'socket' : kind, inner);
}

function parsePath(body: string, deleted: boolean): Annotation {
  // A raw `<` can only open the nested device note: the path's own `<` is escaped.
  const nested = body.indexOf('<');
  const pathPart = nested < 0 ? body : body.slice(0, nested);
  const note = nested < 0 ? '' : body.slice(nested + 1, -1);
  const device = note.startsWith('char ') ? 'char' : note.startsWith('block ') ? 'block' : undefined;
  const path = bytesToText(decodeCString(pathPart));
  if (device) return { type: 'path', path, device, deleted };
  // prefork-check's own tracer notes a file's inode (`</srv/app.log<ino 1234>>`); strace does not.
  if (note.startsWith('ino ')) return { type: 'path', path, deleted, ino: note.slice(4) };
  return { type: 'path', path, deleted };
}

function parseSocket(protocol: string, inner: string): Annotation {
  const socket: Extract<Annotation, { type: 'socket' }> = { type: 'socket', protocol };
  let addresses = inner;
  // Unix sockets: `ino,"path"` or `ino->peer,"path"`.
  const quote = inner.indexOf(',"');
  if (quote >= 0) {
    const end = skipString(inner, quote + 1);
    socket.unixPath = bytesToText(decodeCString(inner.slice(quote + 2, end - 1)));
    addresses = inner.slice(0, quote);
  }
  if (/^\d+$/.test(addresses)) {
    socket.inode = Number(addresses);
    return socket;
  }
  const arrow = addresses.indexOf('->');
  const local = arrow < 0 ? addresses : addresses.slice(0, arrow);
  const peer = arrow < 0 ? undefined : addresses.slice(arrow + 2);
  if (/^\d+$/.test(local)) socket.inode = Number(local);
  else if (local !== '') socket.local = local;
  if (peer !== undefined && peer !== '') socket.peer = peer;
  return socket;
}
