import type { ProcessModel, Task } from '../model/process-model.js';
import type { TraceEvent } from '../trace/events.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';

/** Fork point = the started process calls exit_group: its table before the kernel closes it. */
export function exitDetector(): ForkPointDetector {
  return {
    observe(event: TraceEvent, task: Task, model: ProcessModel): ForkPointHit | undefined {
      if (event.type !== 'syscall' || event.name !== 'exit_group' || task.proc !== model.root?.proc) return undefined;
      const exitCode = Number.parseInt(event.args, 10);
      return { task, table: task.table.copy(), description: `exit of ${describeProcess(task.proc)} with status ${exitCode}`, exitCode };
    },
  };
}
