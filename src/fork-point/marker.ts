import type { OpenFile } from '../model/open-file.js';
import type { ProcessModel, Task } from '../model/process-model.js';
import { decodeCString } from '../trace/c-string.js';
import type { TraceEvent } from '../trace/events.js';
import { skipAnnotation, skipString } from '../trace/scan.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';

/** The bytes of every string argument (write's buffer, writev's iov_base), and whether any was cut short. */
function writtenBytes(args: string): { bytes: Buffer; truncated: boolean } {
  const parts: Buffer[] = [];
  let truncated = false;
  for (let i = args.indexOf('"'); i >= 0; i = args.indexOf('"', i)) {
    const end = skipString(args, i);
    const cut = args.endsWith('...', end) && args[end - 4] === '"';
    parts.push(decodeCString(args.slice(i + 1, cut ? end - 4 : end - 1)));
    truncated ||= cut;
    i = end;
  }
  return { bytes: Buffer.concat(parts), truncated };
}

/** Index just past the leading fd argument and its annotation (a path may hold commas and quotes). */
function afterLeadingFd(args: string): number {
  let i = 0;
  while (i < args.length && args.charCodeAt(i) >= 0x30 && args.charCodeAt(i) <= 0x39) i++;
  return args[i] === '<' ? skipAnnotation(args, i) : i;
}

/**
 * Fork point = the app writes the marker to the stdout or stderr it was
 * started with, from any process under it, in as many writes as it likes.
 */
export function markerDetector(marker: string): ForkPointDetector {
  const needle = Buffer.from(marker);
  // The last bytes written to each stream, so a marker split over writes is found.
  const tails = new Map<OpenFile, Buffer>();

  return {
    observe(event: TraceEvent, task: Task, model: ProcessModel): ForkPointHit | undefined {
      if (event.type !== 'syscall' || (event.name !== 'write' && event.name !== 'writev')) return undefined;
      if (event.result[0] === '-' || event.result[0] === '?') return undefined;
      // Only the streams the app was started with: not a pipe to a child, not a shell's brief 2>/dev/null.
      const file = task.table.get(Number.parseInt(event.args, 10))?.file;
      if (file === undefined || !model.startStreams.has(file)) return undefined;
      const { bytes, truncated } = writtenBytes(event.args.slice(afterLeadingFd(event.args)));
      const seen = Buffer.concat([tails.get(file) ?? Buffer.alloc(0), bytes]);
      if (seen.includes(needle)) {
        return { task, table: task.table.copy(), description: `marker ${JSON.stringify(marker)} written by ${describeProcess(task.proc)}` };
      }
      tails.set(file, truncated ? Buffer.alloc(0) : seen.subarray(Math.max(0, seen.length - needle.length + 1)));
      return undefined;
    },
  };
}
