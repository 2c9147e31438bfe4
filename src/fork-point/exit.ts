import type { CloneInfo, ProcessModel } from '../model/process-model.js';
import type { Proc, Task } from '../model/task.js';
import type { ProcessEvent } from '../trace/events.js';
import { describeProcess } from './describe-process.js';
import type { ForkPointDetector, ForkPointHit } from './detector.js';
import { isPython, isShell } from './program-kind.js';

/** Why a Python app's files are gone at its exit, and what to use instead. */
const PYTHON_EXIT_NOTE =
  'Python closes its open() files and sockets while it shuts down, before exit_group: only raw os.open/C-level fds are left to see. Declare the real fork point: --fork-marker <text> or --fork-at-first-fork.';

const MAX_NAMED = 3;

/** Fork point = the started process calls exit_group: its table before the kernel closes it. */
export function exitDetector(): ForkPointDetector {
  let python = false;
  // Children forked without exec (not a shell's subshells): a server's workers, if still running when the check is stopped.
  const forkedOnly = new Set<Proc>();
  return {
    listener: {
      cloned(parent: Task, child: Task, info: CloneInfo) {
        if (!info.thread && !info.vfork && !isShell(parent.proc.program)) forkedOnly.add(child.proc);
      },
      execed(task: Task) {
        forkedOnly.delete(task.proc);
      },
    },
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
    // A pre-fork server checked with no fork point declared never exits: say that it forked, and how to check that fork.
    notReached() {
      const running = [...forkedOnly].filter((proc) => !proc.exited);
      if (running.length === 0) return undefined;
      const named = running.slice(0, MAX_NAMED).map(describeProcess).join(', ');
      const more = running.length > MAX_NAMED ? `, and ${running.length - MAX_NAMED} more` : '';
      return `It forked ${running.length} process${running.length > 1 ? 'es' : ''} that went on without exec and ${running.length > 1 ? 'are' : 'is'} still running (${named}${more}): a pre-fork server's workers do that, and a server never exits by itself. Check the table its workers inherit with --fork-at-first-fork (or a --preset that knows the server), or declare --fork-marker <text>.`;
    },
  };
}
