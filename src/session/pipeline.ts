import { Attributor } from '../attribution/attributor.js';
import { describeOrigin, type StackFrame } from '../attribution/describe-origin.js';
import { NativeStacks } from '../attribution/native-stacks.js';
import type { FdTable } from '../model/fd-table.js';
import { ProcessModel, type ModelListener } from '../model/process-model.js';
import { creatorOf, type Task } from '../model/task.js';
import { describeTable, kernelFacts, type KernelFacts } from '../describe/describe-table.js';
import type { OpenFile } from '../model/open-file.js';
import type { ClosedInWorker, FdRecord } from '../report/types.js';
import type { ProcessEvent } from '../trace/events.js';
import type { ProcView } from '../proc/proc-view.js';
import { TraceParser } from '../trace/parser.js';

/**
 * What a check does with each line of the trace, whatever the trace comes
 * from (a live strace, a recorded file, a fuzzer): parse it, apply it to the
 * process model, match the bootstrap's records and the native stacks to the
 * fds they belong to; and, at the end, describe a table for the report.
 */
export class TracePipeline {
  readonly model: ProcessModel;
  private readonly parser = new TraceParser();
  private readonly attributor: Attributor;
  private readonly stacks = new NativeStacks();
  /** What the kernel said of each process whose table was described. */
  private readonly kernel = new Map<number, KernelFacts>();

  /** `token`: the run's attribution token; `projectRoot`: where shown paths are relative to; `proc`: the live /proc, or NO_PROC for a recording. */
  constructor(
    token: string,
    initialTable: () => FdTable,
    listeners: ModelListener[],
    private readonly projectRoot: string,
    private readonly proc: ProcView,
  ) {
    this.attributor = new Attributor(token);
    this.model = new ProcessModel(initialTable, [...listeners, this.attributor.listener, this.stacks.listener], proc);
  }

  /** Parses and applies one line; undefined when it holds no event. `record`: an attribution record, nothing else to see. */
  apply(line: string): { event: ProcessEvent; task: Task; record: boolean } | undefined {
    const event = this.parser.parse(line);
    if (event === undefined) return undefined;
    if (event.type === 'native-frame') {
      this.stacks.add(event.frame);
      return undefined;
    }
    this.stacks.next();
    const task = this.model.apply(event);
    return { event, task, record: this.attributor.observe(event, task) };
  }

  /**
   * The Python stack that forked `child` (innermost first), as fd stacks are given; undefined when
   * no Python call announced the fork (native code, or no bootstrap).
   */
  forkStack(child: Task): StackFrame[] | undefined {
    const forking = this.attributor.forkOf(child);
    if (!forking) return undefined;
    return describeOrigin(forking, creatorOf(child, 'clone'), this.projectRoot).stack;
  }

  /** Who closed `file` in the forked process `task` belongs to, as a report names it; undefined when it did not. */
  closedBy(task: Task, file: OpenFile): Omit<ClosedInWorker, 'pid'> | undefined {
    const closer = this.attributor.closerOf(task.proc, file);
    if (!closer) return undefined;
    const { origin, stack } = describeOrigin(closer.attribution, creatorOf(task, closer.syscall), this.projectRoot);
    return { syscall: closer.syscall, origin, stack };
  }

  /**
   * Report records of a table, origins included. Sockets are completed from the process's /proc,
   * read the first time one of its tables is described: describing it again gives the same answers.
   */
  describe(table: FdTable, pid: number): FdRecord[] {
    let kernel = this.kernel.get(pid);
    if (!kernel) this.kernel.set(pid, (kernel = kernelFacts(this.proc, pid)));
    return describeTable(
      table,
      kernel,
      (made, createdBy) => ({
        ...describeOrigin(this.attributor.attributionOf(made), createdBy, this.projectRoot),
        ...this.stacks.of(made),
      }),
      (file) => this.model.startStreamOf(file),
    );
  }
}
