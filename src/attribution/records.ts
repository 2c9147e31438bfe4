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

/** The languages with a bootstrap. */
export type Runtime = 'python' | 'ruby';

/** Python or Ruby came up in this process: where, and where its standard library lives. */
export interface StartRecord {
  type: 'start';
  runtime: Runtime;
  cwd: string;
  stdlib: string;
  executable: string;
}

/** The calling thread is about to create an fd in `event` (a Python or Ruby call), from `frames` (innermost first). */
export interface CallRecord {
  type: 'call';
  event: string;
  /** A call that may make any number of fds, each covered until its end record (Ruby calls, native calls). */
  scoped: boolean;
  /** A call into native code (sqlite3, ctypes). */
  native: boolean;
  /**
   * Made between another record of the thread and its call (by a signal handler run there): its
   * call comes first, and the other record still covers the call after it.
   */
  nested: boolean;
  frames: RawFrame[];
}

/** The thread's innermost scoped call has returned. */
export interface EndRecord {
  type: 'end';
}

export type PythonRecord = StartRecord | CallRecord | EndRecord;

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

/**
 * The frames one process's bootstrap has sent: each in full once (`id file line
 * function`), then by number. A forked child starts with its parent's, and
 * numbers what it sends after the fork on its own, as the parent does.
 */
export class FrameTable {
  private readonly own = new Map<number, RawFrame>();

  constructor(private readonly inherited?: FrameTable) {}

  get(id: number): RawFrame | undefined {
    return this.own.get(id) ?? this.inherited?.get(id);
  }

  /** The frame a record's part names, defining it first when the part carries it in full. */
  read(part: Buffer): RawFrame | undefined {
    const fields = split(part, FIELD_SEPARATOR);
    const id = Number(fields[0]?.toString('latin1'));
    if (fields.length === 1) return this.get(id);
    const [, file, line, fn] = fields;
    if (fields.length !== 4 || file === undefined || line === undefined || fn === undefined) return undefined;
    const frame = { file: bytesToText(file), line: Number(line.toString('latin1')), function: bytesToText(fn) };
    this.own.set(id, frame);
    return frame;
  }
}

/**
 * The record a traced syscall carries, or undefined when it is not one of
 * this run's (wrong syscall, fd not -1, or a token the app cannot know).
 */
export function parseRecord(event: SyscallEvent, token: string, frames: FrameTable): PythonRecord | undefined {
  if (event.name !== RECORD_SYSCALL || !event.args.startsWith('-1, "')) return undefined;
  const open = event.args.indexOf('"');
  const close = skipString(event.args, open);
  if (event.args[close - 1] !== '"') return undefined; // cut short by strace's -s: not trustworthy
  const parts = split(decodeCString(event.args.slice(open + 1, close - 1)), RECORD_SEPARATOR);
  if (parts[0]?.toString('latin1') !== token) return undefined;
  const type = parts[1]?.toString('latin1');
  if (type === 'S') {
    const [cwd, stdlib, executable, runtime] = parts.slice(2).map(bytesToText);
    return {
      type: 'start',
      runtime: runtime === 'ruby' ? 'ruby' : 'python',
      cwd: cwd ?? '',
      stdlib: stdlib ?? '',
      executable: executable ?? '',
    };
  }
  if (type === 'X') return { type: 'end' };
  // E: a Python call about to make its fd (e: one nested between another's record and its call). N: a native call (ctypes,
  // sqlite3) and C: a Ruby call, each covering every fd until its end. D: a call that may close fds (a forked worker's
  // close(), IO#close), covering every close until its end.
  if (type !== 'E' && type !== 'e' && type !== 'N' && type !== 'C' && type !== 'D') return undefined;
  const stack = parts
    .slice(3)
    .map((part) => frames.read(part))
    .filter((frame) => frame !== undefined);
  return {
    type: 'call',
    event: parts[2]?.toString('latin1') ?? '',
    scoped: type !== 'E' && type !== 'e',
    native: type === 'N',
    nested: type === 'e',
    frames: stack,
  };
}
