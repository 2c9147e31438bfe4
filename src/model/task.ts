import type { FdTable } from './fd-table.js';
import type { Creator } from './open-file.js';

/** A traced process (thread group). */
export interface Proc {
  pid: number;
  parentPid: number | undefined;
  /** Path given to the last successful execve, or the parent's program before any. */
  program: string;
  exited: boolean;
}

/** A traced thread. Threads of one process, and CLONE_FILES children, share one table object. */
export interface Task {
  tid: number;
  proc: Proc;
  table: FdTable;
}

/** Who made an fd: this thread of this process, by this syscall. */
export function creatorOf(task: Task, syscall: string): Creator {
  return { type: 'syscall', pid: task.proc.pid, tid: task.tid, program: task.proc.program, syscall };
}
