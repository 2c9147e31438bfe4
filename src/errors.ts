/** Stable codes for the ways a check can fail to be done (exit 2). */
export type ErrorCode =
  | 'INVALID_OPTION'
  | 'ENTRY_NOT_FOUND'
  | 'COMMAND_NOT_FOUND'
  | 'STRACE_NOT_FOUND'
  | 'TRACER_NOT_FOUND'
  | 'PTRACE_NOT_PERMITTED'
  | 'STRACE_FAILED'
  | 'APP_EXITED_BEFORE_FORK_POINT'
  | 'APP_FAILED'
  | 'APP_KILLED_BEFORE_FORK_POINT'
  | 'TIMEOUT'
  | 'NO_FORK_POINT'
  | 'INTERRUPTED'
  | 'REPORT_WRITE_FAILED'
  | 'INVALID_CONFIG'
  | 'INVALID_BASELINE'
  | 'INVALID_REPORT'
  | 'TMPDIR_UNUSABLE';

/**
 * The check could not be done. `message` says what went wrong and what to do;
 * the CLI prints it without a stack and exits 2.
 */
export class PreforkCheckError extends Error {
  override name = 'PreforkCheckError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPreforkCheckError(error: unknown): error is PreforkCheckError {
  return error instanceof PreforkCheckError;
}
