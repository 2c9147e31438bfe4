/** Why a traced run was stopped before it ended by itself. */
export interface StopReason {
  code: 'TIMEOUT' | 'INTERRUPTED' | 'NO_FORK_POINT';
  message: string;
}

export interface GuardMessages {
  /** Said at the deadline; asked then, so it can say what the run was doing. */
  timedOut(): string;
  /** Said when the caller's AbortSignal aborts. */
  interrupted: string;
  /** Said when the process that ran this goes away. */
  parentGone: string;
}

/**
 * Stops a traced run once, at its deadline, when the caller aborts, or when the process that
 * ran it goes away (a Vitest forks-pool worker outlives a killed parent: the app must not), and
 * remembers why. `dispose` when the run is over.
 */
export class RunGuard {
  reason: StopReason | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.fire('INTERRUPTED', this.messages.interrupted);
  private readonly onParentGone = () => this.fire('INTERRUPTED', this.messages.parentGone);

  constructor(
    timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly messages: GuardMessages,
    private readonly stop: (reason: StopReason) => void,
  ) {
    this.timer = setTimeout(() => this.fire('TIMEOUT', messages.timedOut()), timeoutMs);
    signal?.addEventListener('abort', this.onAbort);
    if (process.connected) process.once('disconnect', this.onParentGone);
    if (signal?.aborted) this.onAbort();
  }

  /** Stops the run now, for a reason the caller found (the server said it forks no worker). */
  end(code: StopReason['code'], message: string): void {
    this.fire(code, message);
  }

  /** Whether the run was stopped. */
  get stopped(): boolean {
    return this.reason !== undefined;
  }

  /** No deadline from now on: the caller keeps its own (an abort still stops the run). */
  clearDeadline(): void {
    clearTimeout(this.timer);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    process.off('disconnect', this.onParentGone);
  }

  private fire(code: StopReason['code'], message: string): void {
    if (this.reason) return;
    this.reason = { code, message };
    this.stop(this.reason);
  }
}
