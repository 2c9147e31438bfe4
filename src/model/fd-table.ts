import type { OpenFile } from './open-file.js';

/** One fd number in one table: a description plus the per-fd close-on-exec bit. */
export interface FdSlot {
  readonly file: OpenFile;
  readonly cloexec: boolean;
}

/** A process's fd table. Slots are immutable, so a copy is a cheap Map copy. */
export class FdTable {
  constructor(readonly slots: Map<number, FdSlot> = new Map()) {}

  get(fd: number): FdSlot | undefined {
    return this.slots.get(fd);
  }

  set(fd: number, file: OpenFile, cloexec: boolean): void {
    this.slots.set(fd, { file, cloexec });
  }

  close(fd: number): void {
    this.slots.delete(fd);
  }

  setCloexec(fd: number, cloexec: boolean): void {
    const slot = this.slots.get(fd);
    if (slot && slot.cloexec !== cloexec) this.slots.set(fd, { file: slot.file, cloexec });
  }

  /** Applies `fn` to every open fd in [first, last]. */
  forRange(first: number, last: number, fn: (fd: number) => void): void {
    for (const fd of [...this.slots.keys()]) {
      if (fd >= first && fd <= last) fn(fd);
    }
  }

  copy(): FdTable {
    return new FdTable(new Map(this.slots));
  }

  /** What execve leaves: everything without close-on-exec. */
  afterExec(): FdTable {
    const kept = new Map<number, FdSlot>();
    for (const [fd, slot] of this.slots) if (!slot.cloexec) kept.set(fd, slot);
    return new FdTable(kept);
  }
}
