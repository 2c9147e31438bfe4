import { AtomicFile } from '../files/write-atomic.js';
import { phase } from '../phases.js';
import type { Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';
import type { TracedApp } from './start-trace.js';

/**
 * What the trace said next: an event the model applied (attribution records are applied and
 * skipped), or 'quiet' after each quiet spell (the trace's heartbeat while the app is silent).
 * `rootEnd`: the event ends the started process; `handingOver` when it exited 0 and left a
 * daemon's child to carry on.
 */
export type TraceStep = { event: ProcessEvent; task: Task; rootEnd?: { handingOver: boolean } } | 'quiet';

/**
 * The one loop over a live trace, for a check and a watch alike: each line is copied to
 * --trace-out and applied to the model, in order; what it said is handed to the caller. A check
 * reads in stages (to its fork point, then on through a worker), so reading resumes where it stopped.
 */
export class TraceReader {
  /** Some line held an event: none means strace never got to trace the app. */
  sawEvents = false;
  private readonly lines: AsyncIterator<string>;

  private constructor(
    private readonly app: TracedApp,
    private readonly copy: AtomicFile | undefined,
    private readonly stopped: () => boolean,
  ) {
    this.lines = app.run.lines[Symbol.asyncIterator]();
  }

  /** `traceOut`: also copy every line there (kept by `commit`); `stopped`: reading ends once it says so. */
  static open(app: TracedApp, traceOut: string | undefined, stopped: () => boolean): TraceReader {
    const copy = traceOut === undefined ? undefined : AtomicFile.open(traceOut, 'the trace');
    return new TraceReader(app, copy, stopped);
  }

  /**
   * Reads on, handing each step to `see` until it returns a value (returned), the trace ends or
   * the run is stopped (undefined).
   */
  async until<T>(see: (step: TraceStep) => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    for (let next = await this.lines.next(); !next.done; next = await this.lines.next()) {
      if (this.stopped()) return undefined;
      const step = this.step(next.value);
      if (step === undefined) continue;
      const seen = see(step);
      const value = seen instanceof Promise ? await seen : seen;
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** Keeps the --trace-out copy; rejects when it cannot be written, which fails the check. */
  async commit(): Promise<void> {
    await this.copy?.commit();
  }

  private step(line: string): TraceStep | undefined {
    if (line === '') return 'quiet';
    this.copy?.write(line + '\n');
    const applied = this.app.apply(line);
    if (applied === undefined) return undefined;
    if (!this.sawEvents) phase('traced');
    this.sawEvents = true;
    const { event, task, record } = applied;
    if (record) return undefined;
    const model = this.app.model;
    if ((event.type === 'exit' || event.type === 'killed') && event.pid === model.root?.tid)
      return { event, task, rootEnd: { handingOver: model.rootHandedOver(event) } };
    return { event, task };
  }
}
