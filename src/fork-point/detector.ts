import type { FdTable } from '../model/fd-table.js';
import type { ModelListener, ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';

/** The fork point, reached: whose table, as it was at that syscall. */
export interface ForkPointHit {
  task: Task;
  table: FdTable;
  /** One line for people, e.g. `marker "READY" written by pid 12 (python3)`. */
  description: string;
  /** The worker's pid, for a first-fork hit. */
  childPid?: number;
  /** The exit status, for an exit hit. */
  exitCode?: number;
}

export interface ForkPointDetector {
  /** Model callbacks (clone, exec) the detector needs. */
  readonly listener?: ModelListener;
  /**
   * Looks at one event after the model has applied it. A promise (the marker
   * waiting for the app's bytes to arrive) must settle before the next event is applied.
   */
  observe(
    event: ProcessEvent,
    task: Task,
    model: ProcessModel,
  ): ForkPointHit | Promise<ForkPointHit | undefined> | undefined;
  /**
   * The started process has ended: a last chance to decide (first fork pending). `handingOver`:
   * it exited 0 leaving processes running, as a daemonizing server does, and the trace goes on.
   */
  rootEnded?(model: ProcessModel, handingOver: boolean): ForkPointHit | undefined;
  /**
   * The trace has been quiet for a while: a look at the processes themselves, which may decide.
   * (A call that blocks shows in the trace only when it returns.)
   */
  quiet?(model: ProcessModel): ForkPointHit | undefined;
  /** Why the fork point was not reached, when something is worth saying. */
  notes?(): string[];
  /** What the app did instead, for a run stopped before the fork point, when the detector saw something telling. */
  notReached?(): string | undefined;
}
