import type { Duplication } from '../model/fd-table.js';
import type { OpenFile } from '../model/open-file.js';
import type { ModelListener } from '../model/process-model.js';

/** Frames kept per fd: enough to reach the language runtime's own frames. */
const MAX_FRAMES = 24;

/**
 * The native stacks strace -k prints under each syscall line, kept for the
 * fds that syscall made. strace prints a syscall's stack right under its
 * line, so the frames that follow belong to the last syscall event.
 */
export class NativeStacks {
  private readonly stacks = new WeakMap<OpenFile | Duplication, string[]>();
  /** What the last syscall made: the frames that follow are its stack. */
  private made: Array<OpenFile | Duplication> = [];

  readonly listener: ModelListener = {
    created: (_task, _syscall, files) => this.made.push(...files),
    duplicated: (_task, _syscall, dup) => this.made.push(dup),
  };

  /** A new event: the frames after it are not the previous syscall's. */
  next(): void {
    if (this.made.length > 0) this.made = [];
  }

  add(frame: string): void {
    for (const made of this.made) {
      let stack = this.stacks.get(made);
      if (!stack) this.stacks.set(made, (stack = []));
      if (stack.length < MAX_FRAMES) stack.push(frame);
    }
  }

  of(made: OpenFile | Duplication): { nativeStack?: string[] } {
    const stack = this.stacks.get(made);
    return stack ? { nativeStack: stack } : {};
  }
}
