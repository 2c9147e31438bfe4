import type { Creator, OpenFile } from './open-file.js';

/**
 * How an fd made by dup, dup2, dup3 or fcntl F_DUPFD came to be: it shares its
 * description with the fd it copied, but it has its own creator and line.
 * The object is also its key for attribution.
 */
export interface Duplication {
  readonly creator: Creator;
  /** The fd it copied, in the same table, at the time. */
  readonly of: number;
}

/** One fd number in one table: a description plus the per-fd close-on-exec bit, and how a dup was made. */
export interface FdSlot {
  readonly file: OpenFile;
  readonly cloexec: boolean;
  readonly dup?: Duplication;
}

/** A process's fd table. Slots are immutable, so a copy is a cheap Map copy. */
export class FdTable {
  /** The kernel's own table as it was read at the call just applied (see reconcileWithKernel); any change clears it. */
  kernelRead = false;

  constructor(readonly slots: Map<number, FdSlot> = new Map()) {}

  get(fd: number): FdSlot | undefined {
    return this.slots.get(fd);
  }

  set(fd: number, file: OpenFile, cloexec: boolean, dup?: Duplication): void {
    this.kernelRead = false;
    this.slots.set(fd, dup ? { file, cloexec, dup } : { file, cloexec });
  }

  close(fd: number): void {
    this.kernelRead = false;
    this.slots.delete(fd);
  }

  setCloexec(fd: number, cloexec: boolean): void {
    const slot = this.slots.get(fd);
    if (slot && slot.cloexec !== cloexec) {
      this.kernelRead = false;
      this.slots.set(fd, { ...slot, cloexec });
    }
  }

  /** Applies `fn` to every open fd in [first, last]. */
  forRange(first: number, last: number, fn: (fd: number) => void): void {
    for (const fd of [...this.slots.keys()]) {
      if (fd >= first && fd <= last) fn(fd);
    }
  }

  copy(): FdTable {
    const copy = new FdTable(new Map(this.slots));
    copy.kernelRead = this.kernelRead;
    return copy;
  }

  /** What execve leaves: everything without close-on-exec. */
  afterExec(): FdTable {
    const kept = new Map<number, FdSlot>();
    for (const [fd, slot] of this.slots) if (!slot.cloexec) kept.set(fd, slot);
    return new FdTable(kept);
  }
}
