import type { KernelTableEvent, TraceEvent } from './events.js';
import { decodeCString } from './c-string.js';
import { findClose, skipString } from './scan.js';

const UNFINISHED = ' <unfinished ...>';

/**
 * Turns strace `-f` output lines into events. Holds one pending entry per
 * thread with an unfinished syscall and nothing else, so memory stays flat
 * however long the trace. Lines it cannot read are counted and skipped.
 */
export class TraceParser {
  private readonly pending = new Map<number, { name: string; args: string }>();
  unparsedLines = 0;

  parse(line: string): TraceEvent | undefined {
    if (line.startsWith(' > ')) return nativeFrame(line);
    let i = 0;
    let pid = 0;
    while (i < line.length) {
      const c = line.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      pid = pid * 10 + (c - 0x30);
      i++;
    }
    if (i === 0) return this.skip();
    while (line.charCodeAt(i) === 0x20) i++;
    const rest = i === 0 ? line : line.slice(i);

    if (rest.startsWith(KERNEL_TABLE)) return kernelTable(pid, rest) ?? this.skip();
    if (rest.startsWith('--- ')) {
      const end = rest.indexOf(' ', 4);
      return { type: 'signal', pid, signal: rest.slice(4, end < 0 ? undefined : end) };
    }
    if (rest.startsWith('+++ ')) return this.parseExit(pid, rest);
    if (rest.startsWith('<... ')) return this.parseResumed(pid, rest);

    const open = rest.indexOf('(');
    if (open <= 0) return this.skip();
    const name = rest.slice(0, open);
    if (rest.endsWith(UNFINISHED)) {
      const args = rest.slice(open + 1, rest.length - UNFINISHED.length);
      this.pending.set(pid, { name, args });
      return { type: 'unfinished', pid, name, args };
    }
    return this.complete(pid, name, rest.slice(open + 1));
  }

  private parseResumed(pid: number, rest: string): TraceEvent | undefined {
    const marker = rest.indexOf(' resumed>');
    if (marker < 0) return this.skip();
    const name = rest.slice(5, marker);
    const started = this.pending.get(pid);
    this.pending.delete(pid);
    const tail = rest.slice(marker + 9);
    if (started === undefined || started.name !== name) {
      // The start was not seen (e.g. attached mid-call): the tail alone may still parse.
      return this.complete(pid, name, tail);
    }
    return this.complete(pid, name, started.args + tail);
  }

  private complete(pid: number, name: string, argsAndResult: string): TraceEvent | undefined {
    const end = findClose(argsAndResult, 0);
    if (end < 0) return this.skip();
    let j = end + 1;
    while (argsAndResult.charCodeAt(j) === 0x20) j++;
    if (argsAndResult.charCodeAt(j) !== 0x3d /* '=' */) return this.skip();
    j++;
    while (argsAndResult.charCodeAt(j) === 0x20) j++;
    return { type: 'syscall', pid, name, args: argsAndResult.slice(0, end), result: argsAndResult.slice(j) };
  }

  private parseExit(pid: number, rest: string): TraceEvent | undefined {
    const exited = /^\+\+\+ exited with (\d+) \+\+\+/.exec(rest);
    if (exited) return this.ended(pid, { type: 'exit', pid, code: Number(exited[1]) });
    const killed = /^\+\+\+ killed by (\w+)/.exec(rest);
    if (killed) return this.ended(pid, { type: 'killed', pid, signal: killed[1]! });
    return this.skip();
  }

  private ended(pid: number, event: TraceEvent): TraceEvent {
    this.pending.delete(pid);
    return event;
  }

  private skip(): undefined {
    this.unparsedLines++;
    return undefined;
  }
}

const KERNEL_TABLE = '--- fds';
/** One fd's head in a kernel table, read where the last one ended: ` FD:FLAGS:INO:"` (INO a file's, or empty). */
const KERNEL_FD = / (\d+):([0-7]+):(?:(\d*):)?"/y;

/** `--- fds 3:2100000:1234:"/etc/hostname" 4:2::"socket:[81]" ---`; undefined when it is not whole. */
function kernelTable(pid: number, rest: string): KernelTableEvent | undefined {
  const fds: KernelTableEvent['fds'] = [];
  let i = KERNEL_TABLE.length;
  for (;;) {
    if (rest.startsWith(' ---', i) && i + 4 === rest.length) return { type: 'kernel-table', pid, fds };
    KERNEL_FD.lastIndex = i;
    const head = KERNEL_FD.exec(rest);
    if (!head) return undefined;
    const open = KERNEL_FD.lastIndex - 1;
    const end = skipString(rest, open);
    if (rest.charCodeAt(end - 1) !== 0x22 || end - 1 === open) return undefined;
    const fd: KernelTableEvent['fds'][number] = {
      fd: Number(head[1]),
      flags: Number.parseInt(head[2]!, 8),
      link: decodeCString(rest.slice(open + 1, end - 1)),
    };
    if (head[3]) fd.ino = head[3];
    fds.push(fd);
    i = end;
  }
}

/**
 * ` > /usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6(sqlite3PagerOpen+0x574) [0xb02c4]` as
 * `libsqlite3.so.0.8.6 sqlite3PagerOpen+0x574`; a frame with no symbol keeps its address.
 */
function nativeFrame(line: string): TraceEvent {
  const frame = /^ > (.*?)\((.*)\) \[(0x[0-9a-f]+)\]$/.exec(line);
  if (!frame) return { type: 'native-frame', frame: line.slice(3) };
  const object = frame[1]!.slice(frame[1]!.lastIndexOf('/') + 1);
  return { type: 'native-frame', frame: `${object} ${frame[2] || frame[3]}` };
}
