import { bootstrapEnv, newToken } from '../attribution/bootstrap.js';
import type { AppOutput } from '../launch/app-output.js';
import { runTraced, type TracedRun } from '../launch/run-traced.js';
import { TracePipeline } from './pipeline.js';
import { LIVE_PROC } from '../proc/proc-view.js';
import { straceArguments } from './strace-command.js';
import type { FdTable } from '../model/fd-table.js';
import { initialTable } from '../model/initial-table.js';
import type { ModelListener, ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import type { StackFrame } from '../attribution/describe-origin.js';
import { followsWorker } from '../fork-point/spec.js';
import type { ResolvedOptions } from '../options/options.js';
import type { OpenFile } from '../model/open-file.js';
import type { ClosedInWorker, FdRecord } from '../report/types.js';
import type { ProcessEvent } from '../trace/events.js';

/** What the trace is of; `forkPoint` also says what strace must show besides the fd model (writes, for a marker). */
export interface TraceRequest extends Pick<
  ResolvedOptions,
  'strace' | 'tracer' | 'forkPoint' | 'command' | 'cwd' | 'env' | 'inheritFds' | 'attribution' | 'nativeStacks'
> {
  /** `strace` is prefork-check's own tracer, told to write the kernel's table where the fork point may be. */
  kernelTables?: boolean;
  /** Told of clones, execs and new fds as the model applies them. */
  listeners: ModelListener[];
  /** The app's stdout and stderr, relayed to ours and searched for a marker. */
  output: AppOutput;
}

export interface TracedApp {
  run: TracedRun;
  model: ProcessModel;
  /** Parses and applies one line; undefined when it holds no event. `record`: an attribution record, nothing else to see. */
  apply(line: string): { event: ProcessEvent; task: Task; record: boolean } | undefined;
  /** Report records of a table, origins included. Call while the process lives: sockets are completed from its /proc. */
  describe(table: FdTable, pid: number): FdRecord[];
  /** The Python stack that forked a child, where a Python call announced it (TracePipeline.forkStack). */
  forkStack(child: Task): StackFrame[] | undefined;
  /** Who closed a description in a forked process (TracePipeline.closedBy). */
  closedBy(task: Task, file: OpenFile): Omit<ClosedInWorker, 'pid'> | undefined;
}

/**
 * The app started under the trace: every fd syscall modelled, and (with
 * attribution) the Python bootstrap's records matched to the fds they announce.
 */
export async function startTrace(request: TraceRequest): Promise<TracedApp> {
  const token = newToken();
  const run = await runTraced({
    output: request.output,
    strace: request.strace,
    native: request.tracer === 'native',
    straceArgs: (traceFile) => straceArguments(request, traceFile, request.command),
    cwd: request.cwd,
    env: request.attribution
      ? {
          ...request.env,
          ...bootstrapEnv(
            token,
            { ...process.env, ...request.env },
            { closes: followsWorker(request.forkPoint), buffered: request.tracer === 'native' },
          ),
        }
      : request.env,
    inheritFds: request.inheritFds,
  });
  const pipeline = new TracePipeline(
    token,
    () => initialTable(run.initialFds, run.passedDownFds),
    request.listeners,
    request.cwd,
    LIVE_PROC,
  );
  return {
    run,
    model: pipeline.model,
    apply: (line) => pipeline.apply(line),
    describe: (table, pid) => pipeline.describe(table, pid),
    forkStack: (child) => pipeline.forkStack(child),
    closedBy: (task, file) => pipeline.closedBy(task, file),
  };
}
