import type { ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';
import { isPython } from './program-kind.js';

/** Why a Python app's files are gone at its exit, and what to use instead. */
const PYTHON_EXIT_NOTE =
  'Python closes its open() files and sockets while it shuts down, before exit_group: only raw os.open/C-level fds are left to see. Declare the real fork point: --fork-marker <text> or --fork-at-first-fork.';

/** Fork point = the started process calls exit_group: its table before the kernel closes it. */
export function exitDetector(): ForkPointDetector {
  let python = false;
  return {
    observe(event: ProcessEvent, task: Task, model: ProcessModel): ForkPointHit | undefined {
      if (event.type !== 'syscall' || event.name !== 'exit_group' || task.proc !== model.root?.proc) return undefined;
      python = isPython(task.proc.program);
      const exitCode = Number.parseInt(event.args, 10);
      return {
        task,
        table: task.table.copy(),
        description: `exit of ${describeProcess(task.proc)} with status ${exitCode}`,
        exitCode,
      };
    },
    notes: () => (python ? [PYTHON_EXIT_NOTE] : []),
  };
}
