import type { AppOutput } from '../launch/app-output.js';
import type { ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';
import { writtenFdArgument } from '../trace/syscalls.js';
import { splitTopLevel } from '../trace/scan.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';
import { quoted } from '../json/shape.js';

/** The fd a successful output syscall wrote to, and how many bytes. */
function outputOf(event: ProcessEvent): { fd: number; count: number } | undefined {
  if (event.type !== 'syscall') return undefined;
  const at = writtenFdArgument(event.name);
  if (at === undefined) return undefined;
  const count = Number.parseInt(event.result, 10);
  if (!(count > 0)) return undefined;
  const fd = Number.parseInt(at === 0 ? event.args : (splitTopLevel(event.args)[at] ?? ''), 10);
  return Number.isNaN(fd) ? undefined : { fd, count };
}

/**
 * Fork point = the app writes the marker to the stdout or stderr it was
 * started with, from any process under it, in as many writes as it likes and
 * by any output syscall. The bytes come from the relayed streams; the trace
 * says which syscall carried them: the marker's last byte falls in that
 * syscall's share of the stream, and the table is its writer's at that line.
 */
export function markerDetector(marker: string, output: AppOutput): ForkPointDetector {
  // Bytes the trace has seen written to each stream, in trace order.
  const written = { 1: 0, 2: 0 };

  return {
    observe(
      event: ProcessEvent,
      task: Task,
      model: ProcessModel,
    ): ForkPointHit | Promise<ForkPointHit | undefined> | undefined {
      const wrote = outputOf(event);
      if (wrote === undefined) return undefined;
      // Only the streams the app was started with: not a pipe to a child, not a shell's brief 2>/dev/null.
      const file = task.table.get(wrote.fd)?.file;
      const which = file && model.startStreamOf(file);
      if (which === undefined || which === 0) return undefined;
      const stream = output.streams[which];
      const until = (written[which] += wrote.count);
      // The caller applies no further event until this is settled, so the table is still this syscall's.
      const judge = (): ForkPointHit | undefined =>
        stream.markerEnd !== undefined && stream.markerEnd <= until
          ? {
              task,
              table: task.table.copy(),
              description: `marker ${quoted(marker)} written by ${describeProcess(task.proc)}`,
            }
          : undefined;
      // The syscall has returned, so its bytes are in the fifo: wait for them to be read.
      return stream.received >= until ? judge() : stream.reached(until).then(judge);
    },
  };
}
