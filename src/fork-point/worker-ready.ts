import type { FdTable } from '../model/fd-table.js';
import type { OpenFile } from '../model/open-file.js';
import type { Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';
import type { ProcView } from '../proc/proc-view.js';
import { syscallsThat } from '../trace/syscalls.js';
import { blockedIn } from './blocked-in.js';

/** Where following the first worker ended: `ready` when it started to serve, with what showed it. */
export interface WorkerOutcome {
  ready: boolean;
  how: string;
}

const ACCEPTS = syscallsThat('accepts');
const EXECS = syscallsThat('execs');

/**
 * The first worker's ready point: the moment it starts to serve, after the server's worker hooks
 * (gunicorn's post_fork, Celery's worker_process_init, Unicorn's after_fork) have run. Shown by an
 * accept on a socket it inherited (even one that finds nothing waiting), or, while the trace is
 * quiet, by every thread of it waiting in a call (select, poll, read of its task pipe). Whatever it
 * closed before that was closed before it could share it; an exit or an execve first is no ready point.
 */
export class WorkerReady {
  private readonly inherited: Set<OpenFile>;

  constructor(
    private readonly worker: Task,
    forkTable: FdTable,
    private readonly proc: ProcView,
  ) {
    this.inherited = new Set([...forkTable.slots.values()].map((slot) => slot.file));
  }

  /** Looks at one event after the model has applied it. */
  observe(event: ProcessEvent, task: Task): WorkerOutcome | undefined {
    if (task.proc !== this.worker.proc) return undefined;
    if ((event.type === 'exit' || event.type === 'killed') && event.pid === this.worker.proc.pid) {
      const how = event.type === 'exit' ? `exited with status ${event.code}` : `was killed by ${event.signal}`;
      return { ready: false, how: `it ${how} before it was ready to serve` };
    }
    if (event.type === 'syscall' && EXECS.has(event.name) && event.result.startsWith('0'))
      return { ready: false, how: `it ran ${task.proc.program} before it was ready to serve` };
    if ((event.type === 'syscall' || event.type === 'unfinished') && ACCEPTS.has(event.name)) {
      const fd = Number.parseInt(event.args, 10);
      const file = task.table.get(fd)?.file;
      if (file && this.inherited.has(file))
        return { ready: true, how: `${event.name}() on fd ${fd}, a socket it inherited` };
    }
    return undefined;
  }

  /** The trace is quiet: ready when every thread of the worker waits in a call. */
  quiet(): WorkerOutcome | undefined {
    const threads = this.proc.threads(this.worker.proc.pid);
    if (threads.length === 0) return undefined;
    const calls = threads.map((tid) => blockedIn(this.proc, tid));
    if (calls.some((call) => call === undefined)) return undefined;
    const main = calls[threads.indexOf(this.worker.proc.pid)] ?? calls[0];
    return { ready: true, how: `it waits in ${main}` };
  }
}
