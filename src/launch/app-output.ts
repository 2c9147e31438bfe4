import { Socket } from 'node:net';

/**
 * What the relays have passed on: so our report can start on a line of its own, set apart from
 * the app's; and who to tell before they pass on more (a live status line clears itself).
 */
export const relayed: { any: boolean; lineOpen: Set<NodeJS.WriteStream>; beforeRelay?: () => void } = {
  any: false,
  lineOpen: new Set<NodeJS.WriteStream>(),
};

/**
 * One of the app's output streams (its stdout or its stderr): a fifo we read,
 * passed on to ours as it comes, and searched for the fork-point marker. The
 * bytes are the app's own, however they were written (write, writev,
 * sendfile, splice, a child's echo), so the marker is found in any of them;
 * offsets let the trace tell which syscall wrote it.
 */
class AppStream {
  /** Bytes read so far. */
  received = 0;
  ended = false;
  /** Offset just past the first marker, once its bytes have arrived. */
  markerEnd: number | undefined;
  private tail = Buffer.alloc(0);
  private waiters: Array<{ offset: number; wake: () => void }> = [];
  /** Bytes kept back until the trace has begun: before it, they can only be strace's own words. */
  private held: Buffer[] | undefined = [];

  private reader: Socket | undefined;

  constructor(
    private readonly needle: Buffer | undefined,
    /** Passes a chunk on; returns our stream when it is full, to be read no more until it drains. */
    private readonly pass: (chunk: Buffer) => NodeJS.WriteStream | undefined,
  ) {}

  /** Reads the fifo's read end until every writer has closed it. */
  attach(fd: number): Socket {
    const reader = new Socket({ fd, readable: true, writable: false });
    this.reader = reader;
    reader.on('data', (chunk: Buffer) => this.push(chunk));
    // Ended, failed or destroyed by a stop: no waiter may wait for bytes that will not come.
    reader.on('end', () => this.end());
    reader.on('error', () => this.end());
    reader.on('close', () => this.end());
    return reader;
  }

  push(chunk: Buffer): void {
    if (this.held) this.held.push(chunk);
    else this.passOn(chunk);
    if (this.needle && this.markerEnd === undefined) {
      const seen = Buffer.concat([this.tail, chunk]);
      const at = seen.indexOf(this.needle);
      const start = this.received - this.tail.length;
      if (at >= 0) this.markerEnd = start + at + this.needle.length;
      else this.tail = seen.subarray(Math.max(0, seen.length - this.needle.length + 1));
    }
    this.received += chunk.length;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Passes on what was held, and everything from now on. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const chunk of held) this.passOn(chunk);
  }

  /**
   * Backpressure: while our stream is full (a slow reader of our stdout), the fifo is not read,
   * so it fills and the app waits in its write, as it would writing to a slow pipe itself. Our
   * memory stays flat whatever the app writes.
   */
  private passOn(chunk: Buffer): void {
    const full = this.pass(chunk);
    const reader = this.reader;
    if (full === undefined || reader === undefined || reader.isPaused()) return;
    reader.pause();
    const resume = () => {
      full.off('drain', resume).off('close', resume);
      reader.resume();
    };
    full.once('drain', resume).once('close', resume);
  }

  /** What was held back, never passed on: strace's words when it could not start tracing. */
  heldText(): string {
    return Buffer.concat(this.held ?? []).toString();
  }

  /** Resolves once `offset` bytes have arrived (or the stream has ended). */
  reached(offset: number): Promise<void> {
    if (this.received >= offset || this.ended) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ offset, wake }));
  }

  private wake(): void {
    const ready = this.waiters.filter(({ offset }) => this.ended || this.received >= offset);
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const { wake } of ready) wake();
  }
}

export type AppOutputMode = 'inherit' | 'stderr' | 'ignore';

/**
 * The app's stdout (fd 1) and stderr (fd 2), relayed to ours once the trace has begun: strace
 * shares the app's stderr, and what it says when it cannot trace is ours to explain, not to relay.
 */
export class AppOutput {
  readonly streams: { 1: AppStream; 2: AppStream };
  private readonly heard: WordsHeard;

  /**
   * `show`: 'inherit' relays each stream to ours, 'stderr' both to our stderr (our stdout carries a
   * report), 'ignore' neither. `listen`: words (or a pattern of them) to note if the app says them
   * (`said`), and to tell `onHeard` of as soon as it does.
   */
  constructor(
    marker?: string,
    show: AppOutputMode = 'inherit',
    listen: Words[] = [],
    onHeard: (words: Words) => void = () => {},
  ) {
    const needle = marker === undefined ? undefined : Buffer.from(marker);
    this.heard = new WordsHeard(listen, onHeard);
    const relay = (ours: NodeJS.WriteStream, from: 1 | 2) => (chunk: Buffer) => {
      this.heard.push(from, chunk);
      if (show === 'ignore') return undefined;
      relayed.any = true;
      if (chunk.at(-1) === 0x0a) relayed.lineOpen.delete(ours);
      else relayed.lineOpen.add(ours);
      return passOn(ours, chunk) ? undefined : ours;
    };
    this.streams = {
      1: new AppStream(needle, relay(show === 'stderr' ? process.stderr : process.stdout, 1)),
      2: new AppStream(needle, relay(process.stderr, 2)),
    };
  }

  /** Whether the app has said these words (given to the constructor) on its stdout or stderr so far. */
  said(words: Words): boolean {
    return this.heard.seen.has(words);
  }

  /** The trace has begun: the app's output is the app's from here, and passed on. */
  tracing(): void {
    this.streams[1].release();
    this.streams[2].release();
  }

  /** What strace wrote to the shared stderr before it gave up, when it never traced. */
  straceSaid(): string {
    return this.streams[2].heldText();
  }
}

/** Words to look for in the app's output: as written, or a pattern of one line of it at most. */
export type Words = string | RegExp;
/** How much of a line a pattern may span across chunks. */
const PATTERN_SPAN = 512;

/** Words looked for in the app's output as it passes, each stream's end kept for words split over chunks. */
class WordsHeard {
  readonly seen = new Set<Words>();
  private readonly tails = { 1: Buffer.alloc(0), 2: Buffer.alloc(0) };
  private readonly longest: number;

  constructor(
    private readonly needles: Words[],
    private readonly onHeard: (words: Words) => void,
  ) {
    const spans = needles.map((words) => (typeof words === 'string' ? Buffer.byteLength(words) : PATTERN_SPAN));
    this.longest = Math.max(0, ...spans);
  }

  push(from: 1 | 2, chunk: Buffer): void {
    if (this.needles.length === this.seen.size) return;
    const bytes = Buffer.concat([this.tails[from], chunk]);
    let text: string | undefined;
    for (const words of this.needles) {
      if (this.seen.has(words)) continue;
      if (typeof words === 'string' ? bytes.includes(words) : words.test((text ??= bytes.toString('latin1')))) {
        this.seen.add(words);
        this.onHeard(words);
      }
    }
    this.tails[from] = bytes.subarray(Math.max(0, bytes.length - this.longest + 1));
  }
}

/**
 * Writes a chunk to our stream; false when the stream is full and more should wait for 'drain'.
 * Our own stdout may be closed (`| head`): the app's output is then dropped, never an error of ours.
 */
function passOn(stream: NodeJS.WriteStream, chunk: Buffer): boolean {
  if (stream.destroyed || !stream.writable) return true;
  relayed.beforeRelay?.();
  try {
    return stream.write(chunk, () => undefined);
  } catch {
    // The stream closed under us.
    return true;
  }
}
