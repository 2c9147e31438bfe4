import { parseFdRef, type FdRef } from './annotation.js';

export interface SyscallResult {
  /** The return value, or undefined for `?`. */
  value: number | undefined;
  /** Error name for a failed call, e.g. `ENOENT`. */
  errno?: string;
  /** The returned fd with its annotation, for calls that return one. */
  ref?: FdRef;
}

export function parseResult(result: string): SyscallResult {
  if (result.startsWith('-1 E')) {
    const space = result.indexOf(' ', 3);
    return { value: -1, errno: result.slice(3, space < 0 ? undefined : space) };
  }
  if (result.startsWith('?')) return { value: undefined };
  const ref = parseFdRef(result);
  if (ref !== undefined) return { value: ref.fd, ref };
  const hex = /^0x[0-9a-f]+/.exec(result);
  return { value: hex ? Number.parseInt(hex[0], 16) : undefined };
}
