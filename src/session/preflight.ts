import { statSync } from 'node:fs';
import { PreforkCheckError } from '../errors.js';
import { outputTarget } from '../files/write-atomic.js';
import { findProgram } from '../launch/find-program.js';
import { findNativeTracer, whyNativeCannotRun } from '../launch/native-tracer.js';
import { findStrace } from '../launch/run-traced.js';
import type { TracerChoice } from '../options/options.js';
import type { TracerName } from '../report/types.js';

export interface TraceTarget {
  command: string[];
  cwd: string;
  /** The strace binary, as given. */
  strace: string;
  tracer: TracerChoice;
  traceOut?: string | undefined;
}

/** The tracer a run uses, settled: its name for the report, and the binary to start. */
export interface Tracer {
  tracer: TracerName;
  path: string;
}

/**
 * What any traced run needs before it starts, checked before anything runs: a working directory,
 * a command that exists, a --trace-out that may be written, and the tracer: `auto` is
 * prefork-check's own where it can run, else strace (which takes the same arguments).
 */
export function preflightTrace(target: TraceTarget): Tracer {
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
  const native = target.tracer === 'native' || (target.tracer === 'auto' && whyNativeCannotRun() === undefined);
  if (native) return { tracer: 'native', path: findNativeTracer() };
  return { tracer: 'strace', path: findStrace(target.strace, target.cwd, target.tracer === 'auto') };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
