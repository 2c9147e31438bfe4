import type { SyscallEvent } from '../trace/events.js';
import { bytesToText, decodeCString } from '../trace/c-string.js';
import { skipString } from '../trace/scan.js';

/** The syscall that carries the bootstrap's records: `pwrite64(-1, "<record>", n, 0)`, failing with EBADF. */
export const RECORD_SYSCALL = 'pwrite64';

/** A Python frame as the bootstrap saw it; `file` as in co_filename (may be relative or `<string>`). */
export interface RawFrame {
  file: string;
  line: number;
  function: string;
}

/** Python came up in this process: where, and where its standard library lives. */
export interface StartRecord {
  type: 'start';
  cwd: string;
  stdlib: string;
  executable: string;
}

/** The calling thread is about to create an fd in `event` (a Python call), from `frames` (innermost first). */
export interface CallRecord {
  type: 'call';
  event: string;
  /** A call into native code (sqlite3, ctypes) that may make any number of fds. */
  native: boolean;
  frames: RawFrame[];
}

export type PythonRecord = StartRecord | CallRecord;

const RECORD_SEPARATOR = 0x1e;
const FIELD_SEPARATOR = 0x1f;

function split(bytes: Buffer, separator: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = bytes.indexOf(separator); at >= 0; at = bytes.indexOf(separator, start)) {
    parts.push(bytes.subarray(start, at));
    start = at + 1;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

function frameOf(part: Buffer): RawFrame | undefined {
  const [file, line, fn] = split(part, FIELD_SEPARATOR);
  if (file === undefined || line === undefined || fn === undefined) return undefined;
  return { file: bytesToText(file), line: Number(line.toString('latin1')), function: bytesToText(fn) };
}

/**
 * The record a traced syscall carries, or undefined when it is not one of
 * this run's (wrong syscall, fd not -1, or a token the app cannot know).
 */
export function parseRecord(event: SyscallEvent, token: string): PythonRecord | undefined {
  if (event.name !== RECORD_SYSCALL || !event.args.startsWith('-1, "')) return undefined;
  const open = event.args.indexOf('"');
  const close = skipString(event.args, open);
  if (event.args[close - 1] !== '"') return undefined; // cut short by strace's -s: not trustworthy
  const parts = split(decodeCString(event.args.slice(open + 1, close - 1)), RECORD_SEPARATOR);
  if (parts[0]?.toString('latin1') !== token) return undefined;
  const type = parts[1]?.toString('latin1');
  if (type === 'S') {
    const [cwd, stdlib, executable] = parts.slice(2).map(bytesToText);
    return { type: 'start', cwd: cwd ?? '', stdlib: stdlib ?? '', executable: executable ?? '' };
  }
  if (type !== 'E' && type !== 'N') return undefined;
  const frames = parts.slice(3).map(frameOf).filter((frame) => frame !== undefined);
  return { type: 'call', event: parts[2]?.toString('latin1') ?? '', native: type === 'N', frames };
}
