import { closeSync, readFileSync, readdirSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PreforkCheckError } from '../errors.js';
import type { AppOutput } from './app-output.js';
import { diagnoseStraceFailure } from './diagnose.js';
import { whyNativeCannotRun } from './native-tracer.js';
import { findProgram } from './find-program.js';
import { leaveTracedCpu, pinning } from './one-cpu.js';
import { startReaper } from './reaper.js';
import { readKernelFd, type KernelFd } from '../proc/proc-view.js';
import { inheritableOwnFds } from './own-fds.js';
import { TracePipe } from './trace-pipe.js';
import { takeRunFifos } from './run-fifos.js';
import { phase } from '../phases.js';

export interface RunRequest {
  /** The strace binary, as findStrace found it. */
  strace: string;
  /** The tracer's arguments, writing the trace to a file by name or, for our own tracer, to an fd it inherits. */
  straceArgs: (output: string | number) => string[];
  /**
   * The tracer is prefork-check's own: told our pid (--die-with), it is killed when we end,
   * however we end, and its tracees with it, so no reaper is started.
   */
  native?: boolean;
  cwd: string;
  env: Record<string, string>;
  inheritFds: boolean;
  /** Where the app's stdout and stderr go (relayed to ours once the trace begins), searched for this marker. */
  output: AppOutput;
}

export interface TracedRun {
  /**
   * strace's output, one line at a time, as it is written; an empty line after each QUIET_MS
   * in which strace wrote nothing (a call that blocks shows in the trace only when it returns).
   */
  lines: AsyncIterable<string>;
  /** The app's starting fds as the kernel shows them: our stdin, the relay fifos as 1 and 2, plus inherited ones when asked. */
  initialFds: KernelFd[];
  /** Which of the starting fds came from prefork-check's own parent rather than stdio. */
  passedDownFds: number[];
  /** strace's exit, with its status (undefined when killed by a signal or never started, then with why). */
  child: Promise<{ exitCode: number | undefined; spawnError?: NodeJS.ErrnoException }>;
  /** Kills strace, its process group and every pid given, then removes the fifo. Safe to call twice. */
  stop(pids: Iterable<number>): Promise<void>;
  /** strace ended without tracing anything: why, in an error that says what to do. */
  whyNotTraced(): Promise<PreforkCheckError>;
}

/** The strace binary to run, or an error that says how to install it. */
export function findStrace(name: string, cwd: string, instead = false): string {
  const strace = findProgram(name, cwd);
  if (strace === undefined) {
    // Where strace stands in for prefork-check's own tracer, say why that one cannot run.
    const why = instead ? whyNativeCannotRun() : undefined;
    throw new PreforkCheckError(
      'STRACE_NOT_FOUND',
      `strace was not found (looked for \`${name}\` on PATH)${why ? `, and prefork-check's own tracer cannot run here: ${why}` : ''}. Install strace: \`apt-get install strace\` (Debian/Ubuntu), \`dnf install strace\` (Fedora), \`apk add strace\` (Alpine).`,
    );
  }
  return strace;
}

/**
 * Starts the app under strace in its own process group, with strace writing
 * to a fifo that is read as a stream (the trace never touches the disk), and
 * the app's stdout and stderr on fifos we relay (run-fifos.ts). The output fifos
 * are unlinked before the app starts, the trace fifo as soon as strace has it
 * open; prefork-check's own tracer writes to the trace fifo's end it inherits.
 */
export async function runTraced(request: RunRequest): Promise<TracedRun> {
  const strace = request.strace;

  const { fifos, appStarted } = await takeRunFifos(!request.native);
  const readFd = fifos.trace.read;
  const outputWriteFds = fifos.output.map((ends) => ends.write);
  let keepOpen: number | undefined = fifos.trace.write;
  phase('fifos');
  const releaseWriter = () => {
    if (keepOpen === undefined) return;
    closeSync(keepOpen);
    keepOpen = undefined;
    void fifos.release();
  };

  const ownExtras = inheritableOwnFds(request.inheritFds);
  const passedDownFds = request.inheritFds ? ownExtras : [];
  const pinned = pinning(request.native === true, request.cwd);
  // strace opens the trace fifo by its name; our own tracer is handed its write end, at a number
  // above every fd of ours the child could inherit.
  const traceFd = Math.max(2, ...ownExtras) + 1;
  const tracerArgs = request.native
    ? ['--die-with', String(process.pid), ...pinned.tracerArgs, ...request.straceArgs(traceFd)]
    : request.straceArgs(fifos.tracePath!);
  let [file, ...args] = [...pinned.prefix, strace, ...tracerArgs] as [string, ...string[]];
  if (!request.inheritFds && ownExtras.length > 0) {
    // Node cannot close fds in a child before exec; bash can, then execs strace in place.
    const closing = ownExtras.map((fd) => `${fd}>&-`).join(' ');
    args = ['-c', `exec ${closing}; exec "$@"`, 'prefork-check', file, ...args];
    file = findProgram('bash', request.cwd) ?? '/bin/bash';
  }

  // Its own process group (detached), our stdin, and the relay fifos as stdout and stderr: the
  // app's bytes reach the marker search however they were written, and its output stays apart
  // from our report. node:child_process rather than execa: execa's import alone costs ~65 ms.
  let spawned: ChildProcess;
  try {
    spawned = spawn(file, args, {
      cwd: request.cwd,
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...request.env },
      stdio: childFds(outputWriteFds, passedDownFds, request.native ? [traceFd, fifos.trace.write] : undefined),
      detached: true,
    });
  } catch (error) {
    // Some failures (E2BIG) are thrown at once rather than emitted.
    for (const fd of [readFd, fifos.trace.write, ...fifos.output.flatMap((ends) => [ends.read, ends.write])])
      closeSync(fd);
    await fifos.release();
    throw spawnFailure(error as NodeJS.ErrnoException);
  }
  const child = new Promise<{ exitCode: number | undefined; spawnError?: NodeJS.ErrnoException }>((resolve) => {
    spawned.once('exit', (code) => resolve({ exitCode: code ?? undefined }));
    spawned.once('error', (error) => resolve({ exitCode: undefined, spawnError: error }));
  });
  const pid = spawned.pid;
  leaveTracedCpu(request.cwd);
  appStarted();
  // However we end, even by SIGKILL, the app's tree ends with us.
  const reaper = pid === undefined || request.native ? undefined : startReaper(pid, readFd, request.cwd);
  phase('spawned');
  // The app inherits exactly our stdin, the relay fifos and the fds passed down. (strace's
  // own 0 and 1 are no guide: it swaps them for pipes of its own once the app has started.)
  const starting = [
    [0, 0],
    [1, outputWriteFds[0]!],
    [2, outputWriteFds[1]!],
    ...passedDownFds.map((fd) => [fd, fd]),
  ] as const;
  const initialFds = starting.map(([fd, ours]) => readKernelFd('self', ours, fd)).filter((info) => info !== undefined);
  for (const fd of outputWriteFds) closeSync(fd);
  const outputReaders = fifos.output.map((ends, i) => request.output.streams[i === 0 ? 1 : 2].attach(ends.read));

  const reader = new TracePipe(readFd);
  void reader.firstData.then((traced) => {
    releaseWriter();
    if (traced) request.output.tracing();
  });
  void child.finally(releaseWriter);

  let stopped = false;
  const stop = async (pids: Iterable<number>) => {
    if (stopped) return;
    stopped = true;
    const tracees = new Tracees(pid);
    for (const known of pids) tracees.kill(known);
    // strace stays to the end: a process forked just before the kills (a daemon
    // leaving the group with setsid) shows up in the rest of the trace and is
    // killed too, and strace exits once it has no tracee left.
    const drained = (async () => {
      for await (const line of reader.lines()) for (const seen of pidsIn(line)) tracees.kill(seen);
    })().catch(() => undefined); // destroyed mid-line: nothing more to kill
    // A process the trace never named (forked just as its parent was killed, and silent
    // since) is still strace's tracee: the kernel names its tracer.
    let exited = false;
    void child.then(() => (exited = true));
    for (let waited = 0; !exited && waited < STOP_GRACE_MS; waited += TRACEE_POLL_MS) {
      await exitOrDelay(child, TRACEE_POLL_MS);
      if (!exited) tracees.killTracedBy(pid);
    }
    if (!exited) tracees.killGroup();
    await Promise.race([child, delay(STOP_GRACE_MS)]);
    releaseWriter();
    reader.close();
    // The app's last words are passed on: its streams end once the killed tree has closed them.
    await Promise.race([
      Promise.all(outputReaders.map((output) => (output.readableEnded ? undefined : once(output, 'close')))),
      delay(OUTPUT_GRACE_MS),
    ]);
    for (const output of outputReaders) output.destroy();
    await drained;
    await fifos.release();
    reaper?.release();
  };

  const whyNotTraced = async () => {
    const ended = await child;
    if (ended.spawnError) return spawnFailure(ended.spawnError);
    return diagnoseStraceFailure(strace, ended.exitCode, request.output.straceSaid());
  };

  return { lines: reader.lines(QUIET_MS), initialFds, passedDownFds, child, stop, whyNotTraced };
}

/**
 * The child's fds: our stdin, the relay fifos as stdout and stderr, each fd passed down at its own
 * number, and our own tracer's trace end at its number. 'ignore' fills the numbers between (no
 * holes, which would shift the rest); the child gets each fd with close-on-exec cleared.
 */
function childFds(output: number[], passedDown: number[], trace?: [number, number]): ('inherit' | 'ignore' | number)[] {
  const given = new Map<number, number>([
    [1, output[0]!],
    [2, output[1]!],
    ...passedDown.map((fd) => [fd, fd] as [number, number]),
  ]);
  if (trace) given.set(...trace);
  return Array.from({ length: Math.max(...given.keys()) + 1 }, (_, fd) =>
    fd === 0 ? 'inherit' : (given.get(fd) ?? 'ignore'),
  );
}

/** strace could not even be started: the kernel's reason, in words that say what to do. */
function spawnFailure(error: NodeJS.ErrnoException): PreforkCheckError {
  const why =
    error.code === 'E2BIG'
      ? "the environment and arguments are larger than the kernel takes (E2BIG): shrink the config's `env` or the command line"
      : `${error.code ?? error.message}`;
  return new PreforkCheckError('STRACE_FAILED', `Could not start strace: ${why}.`, { cause: error });
}

const QUIET_MS = 100;
const STOP_GRACE_MS = 5000;
const TRACEE_POLL_MS = 50;
const OUTPUT_GRACE_MS = 200;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Whichever comes first; the timer keeps Node alive meanwhile, and is cleared after. */
async function exitOrDelay(exit: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exit, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Pids a trace line shows: the line's own, and a new child's (a clone's result). */
function pidsIn(line: string): number[] {
  const own = /^(\d+) /.exec(line);
  if (!own) return [];
  const child = /^\d+ +(?:<\.\.\. )?(?:clone3?|v?fork)\b.*= (\d+)$/.exec(line);
  return child ? [Number(own[1]), Number(child[1])] : [Number(own[1])];
}

/** SIGKILLs the app's processes, each once; strace itself last, so that it keeps reporting new ones. */
class Tracees {
  private readonly killed = new Set<number>([0, 1, process.pid]);

  constructor(private readonly tracer: number | undefined) {}

  kill(pid: number): void {
    if (this.killed.has(pid) || pid === this.tracer) return;
    this.killed.add(pid);
    signal(pid);
  }

  /** Every process the kernel says `tracer` traces. */
  killTracedBy(tracer: number | undefined): void {
    if (tracer === undefined) return;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'latin1'))?.[1]) === tracer)
          this.kill(Number(name));
      } catch {
        // Gone while we looked.
      }
    }
  }

  /** The whole process group, strace included: for a trace that would not end. */
  killGroup(): void {
    if (this.tracer === undefined) return;
    signal(-this.tracer);
    signal(this.tracer);
  }
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
