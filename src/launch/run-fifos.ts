import { execFile } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PreforkCheckError } from '../errors.js';

/** The two ends of a fifo: ours to read (non-blocking), and the writer's. */
export interface FifoEnds {
  read: number;
  write: number;
}

/**
 * A run's fifos, open: the trace, and the app's stdout and stderr. All are real pipes (Node can
 * make only sockets), so they are fifos made by mkfifo, opened, then unlinked: the app sees
 * the same name, "(deleted)", throughout. strace opens the trace by its name (`tracePath`), which
 * stays until `release`; prefork-check's own tracer is handed the write end instead.
 */
export interface RunFifos {
  trace: FifoEnds;
  tracePath?: string;
  output: readonly [FifoEnds, FifoEnds];
  /** Removes the trace's name and its directory, if still there. Safe to call twice. */
  release(): Promise<void>;
}

/** Where a run's fifos are made: a new temp directory, and the three names in it. */
export interface FifoNames {
  dir: string;
  paths: [trace: string, stdout: string, stderr: string];
}

/**
 * Node has no mkfifo: making a run's fifos starts a program (~10 ms in a running Node, more than
 * the rest of a check's start). For prefork-check's own tracer, which needs no name on disk, they
 * are made ahead where that can be: the probe of the tracer makes the first run's
 * (`makeFifosAhead`), and from a process's second run on, the next run's set is made while this
 * one's app runs. A set made ahead is only open fds, nothing on disk: a process killed between
 * checks (a test runner's worker) leaves nothing behind.
 */
let prepared: Promise<RunFifos> | undefined;
let taken = 0;

/**
 * The fifos for a run about to start, the caller's from here. `named`: the trace keeps its name
 * for strace to open. `appStarted`, called once the run's app has started, makes the next set
 * for a native run, from the second run of this process on.
 */
export async function takeRunFifos(named: boolean): Promise<{ fifos: RunFifos; appStarted: () => void }> {
  if (named) return { fifos: await makeRunFifos(true), appStarted: () => undefined };
  const ahead = prepared;
  prepared = undefined;
  taken += 1;
  return { fifos: await (ahead ?? makeRunFifos(false)), appStarted: taken > 1 ? prepareNext : () => undefined };
}

function prepareNext(): void {
  if (prepared !== undefined) return;
  prepared = makeRunFifos(false);
  // Whoever takes it sees the failure; until then it is not unhandled.
  prepared.catch(() => undefined);
}

/**
 * For a program that makes fifos anyway (the native tracer's probe): names for the next native
 * run's, and `made` to call once the program has made them (`false`: it could not, and the names
 * are removed). Undefined when a set is made already, or no directory can be made (the run then
 * says why).
 */
export function makeFifosAhead(): { names: FifoNames; made: (ok: boolean) => void } | undefined {
  if (prepared !== undefined) return undefined;
  let names: FifoNames;
  try {
    names = fifoNames();
  } catch {
    return undefined;
  }
  const made = (ok: boolean) => {
    if (!ok) {
      rmSync(names.dir, { recursive: true, force: true });
      return;
    }
    prepared = Promise.resolve().then(() => openRunFifos(names, false));
    prepared.catch(() => undefined);
  };
  return { names, made };
}

function fifoNames(): FifoNames {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'prefork-check-'));
  } catch (error) {
    throw new PreforkCheckError(
      'TMPDIR_UNUSABLE',
      `Cannot make a temp directory in ${tmpdir()} for the trace fifos (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Set TMPDIR to an existing, writable directory.`,
      { cause: error },
    );
  }
  return { dir, paths: [join(dir, 'trace'), join(dir, 'stdout'), join(dir, 'stderr')] };
}

async function makeRunFifos(named: boolean): Promise<RunFifos> {
  const names = fifoNames();
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', ...names.paths]);
  } catch (error) {
    await rm(names.dir, { recursive: true, force: true });
    throw fifoError(error);
  }
  return openRunFifos(names, named);
}

/** Opens fifos that exist, unlinks what needs no name, and removes the directory where it can. */
async function openRunFifos({ dir, paths: [trace, stdout, stderr] }: FifoNames, named: boolean): Promise<RunFifos> {
  const opened: number[] = [];
  const open = (path: string, flags: number) => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  try {
    // Our read ends are non-blocking: a non-blocking open does not wait for a writer, and we
    // poll. The write ends block (a reader is there, so their open does not wait): the app's
    // stdout and stderr, and the trace's, which our own tracer writes to and which, held by us,
    // stops the reader seeing the trace's end before strace has opened it.
    const ends = (path: string): FifoEnds => ({
      read: open(path, constants.O_RDONLY | constants.O_NONBLOCK),
      write: open(path, constants.O_WRONLY),
    });
    const fifos = { trace: ends(trace), output: [ends(stdout), ends(stderr)] as const };
    unlinkSync(stdout);
    unlinkSync(stderr);
    if (named) return { ...fifos, tracePath: trace, release: once(() => rm(dir, { recursive: true, force: true })) };
    rmSync(dir, { recursive: true, force: true });
    return { ...fifos, release: async () => undefined };
  } catch (error) {
    for (const fd of opened) closeSync(fd);
    await rm(dir, { recursive: true, force: true });
    throw fifoError(error);
  }
}

function fifoError(error: unknown): PreforkCheckError {
  return new PreforkCheckError(
    'STRACE_FAILED',
    `Could not create the trace fifo in ${tmpdir()}: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= action());
}
