import { statSync } from 'node:fs';
import { PreforkCheckError } from '../errors.js';
import { outputTarget } from '../files/write-atomic.js';
import { findProgram } from '../launch/find-program.js';
import { findStrace } from '../launch/run-traced.js';

export interface TraceTarget {
  command: string[];
  cwd: string;
  /** The strace binary, as given. */
  strace: string;
  traceOut?: string | undefined;
}

/**
 * What any traced run needs before it starts, checked before anything runs: a working directory,
 * a command that exists, a --trace-out that may be written, and strace. Returns strace's path.
 */
export function preflightTrace(target: TraceTarget): string {
  if (target.traceOut !== undefined) outputTarget(target.traceOut, 'the trace');
  if (!isDirectory(target.cwd))
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `The working directory ${target.cwd} does not exist or is not a directory.`,
    );
  const program = target.command[0]!;
  if (findProgram(program, target.cwd) === undefined) {
    throw new PreforkCheckError(
      'COMMAND_NOT_FOUND',
      program.includes('/')
        ? `The command ${program} does not exist or is not executable.`
        : `The command \`${program}\` was not found on PATH.`,
    );
  }
  return findStrace(target.strace, target.cwd);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
