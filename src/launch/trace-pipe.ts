import { closeSync, readSync } from 'node:fs';

/** How long the reader sleeps once the pipe is empty: the latency it adds to what the trace says. */
const POLL_MS = 4;
const CHUNK = 1 << 16;

/**
 * strace's side of the trace fifo, read in turns rather than on every write.
 * strace flushes twice per traced syscall; a reader parked in epoll is woken
 * by each flush, and those cross-CPU wakeups cost the traced app more than
 * strace itself (~100 ms on a 0.3 s start). Polled, the writes land in the
 * pipe's buffer with nobody to wake, and strace only waits if it fills.
 */
export class TracePipe {
  private open = true;
  private dataArrived!: (arrived: boolean) => void;
  /** True when the first bytes arrive; false when the pipe ends or is closed first (strace never traced). */
  readonly firstData = new Promise<boolean>((resolve) => (this.dataArrived = resolve));

  /** `fd` is the fifo's read end, opened O_NONBLOCK; the pipe owns it from here. */
  constructor(private readonly fd: number) {}

  /**
   * The trace, one line at a time, until every writer has closed the fifo or
   * the pipe is closed. strace escapes every non-printable byte, so latin1 maps
   * its output one byte to one char with nothing lost. Memory holds one chunk
   * and one partial line. A reader may stop early and another go on after it.
   * With `quietMs`, an empty line comes after each `quietMs` without a byte:
   * the reader's turn to look at the processes themselves.
   */
  async *lines(quietMs?: number): AsyncGenerator<string> {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let partial = '';
    let quietSince = 0;
    for (;;) {
      const count = this.read(buffer);
      if (count === 0) break;
      if (count === undefined) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        if (quietMs === undefined) continue;
        const now = Date.now();
        if (quietSince === 0) quietSince = now;
        else if (now - quietSince >= quietMs) {
          quietSince = now;
          yield '';
        }
        continue;
      }
      quietSince = 0;
      const text = partial + buffer.toString('latin1', 0, count);
      let start = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
        yield text.slice(start, newline);
        start = newline + 1;
      }
      partial = text.slice(start);
    }
    if (partial !== '') yield partial;
  }

  /** Closes our end; readers end at their next turn. Safe to call twice. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
    this.dataArrived(false);
  }

  /** Bytes read, 0 at the end (no writer left, or closed by us), undefined when the pipe is empty for now. */
  private read(buffer: Buffer): number | undefined {
    if (!this.open) return 0;
    try {
      const count = readSync(this.fd, buffer, 0, buffer.length, null);
      this.dataArrived(count > 0);
      return count;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
      throw error;
    }
  }
}
