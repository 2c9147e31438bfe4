import type { ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import type { ProcView } from '../proc/proc-view.js';
import { blockedIn } from './blocked-in.js';
import { describeProcess } from './describe-process.js';

/** Calls a server waits in between requests: for a connection, or for any of its sockets to be ready. */
const SERVING = new Set([
  'accept()',
  'accept4()',
  'epoll_wait()',
  'epoll_pwait()',
  'select()',
  'pselect6()',
  'poll()',
  'ppoll()',
]);

/**
 * For a run stopped before its fork point: a server that serves in the process it started as
 * (waitress, uvicorn or Hypercorn without workers, Flask's own server) waits there for requests,
 * with no other process running. Undefined when that is not what the kernel shows.
 */
export function servesAlone(proc: ProcView, model: ProcessModel, task: Task | undefined): string | undefined {
  if (task === undefined || model.liveProcesses().some((other) => other.proc !== task.proc)) return undefined;
  const call = blockedIn(proc, task.tid);
  if (call === undefined || !SERVING.has(call)) return undefined;
  return `${describeProcess(task.proc)} forked no process and was waiting in ${call}, as a server does between requests: it serves in the process it started as, so there is no fork point to check. Run it with its workers (its --workers or processes setting), or declare a fork point of the app's own with --fork-marker.`;
}
