import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PreforkCheckError } from '../errors.js';
import { findProgram } from './find-program.js';
import { inheritableOwnFds, readKernelFd, type KernelFd } from './own-fds.js';
import { readLines } from './read-lines.js';

export interface RunRequest {
  strace: string;
  straceArgs: (output: string) => string[];
  cwd: string;
  env: Record<string, string>;
  inheritFds: boolean;
}

export interface TracedRun {
  /** strace's output, one line at a time, as it is written. */
  lines: AsyncIterable<string>;
  /** The app's starting fds as the kernel shows them: stdio, plus inherited ones when asked. */
  initialFds: KernelFd[];
  /** Which of the starting fds came from prefork-check's own parent rather than stdio. */
  passedDownFds: number[];
  /** The strace process, for its exit status. */
  child: ResultPromise;
  /** Kills strace, its process group and every pid given, then removes the fifo. Safe to call twice. */
  stop(pids: Iterable<number>): Promise<void>;
}

/**
 * Starts the app under strace in its own process group, with strace writing
 * to a fifo that is read as a stream: the trace never touches the disk, and
 * the fifo is unlinked as soon as strace has it open.
 */
export async function runTraced(request: RunRequest): Promise<TracedRun> {
  const strace = findProgram(request.strace, request.cwd);
  if (strace === undefined) {
    throw new PreforkCheckError(
      'STRACE_NOT_FOUND',
      `strace was not found (looked for \`${request.strace}\` on PATH). Install it: \`apt-get install strace\` (Debian/Ubuntu), \`dnf install strace\` (Fedora), \`apk add strace\` (Alpine).`,
    );
  }

  const dir = await mkdtemp(join(tmpdir(), 'prefork-check-'));
  const fifo = join(dir, 'trace');
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await rm(dir, { recursive: true, force: true });
  };

  let readFd: number;
  let keepOpen: number | undefined;
  try {
    await execa('mkfifo', ['-m', '600', fifo]);
    // Non-blocking open never waits for a writer; our own writer end stops the
    // reader seeing EOF before strace has opened the fifo.
    readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    keepOpen = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    await cleanup();
    throw new PreforkCheckError('STRACE_FAILED', `Could not create the trace fifo in ${tmpdir()}: ${(error as Error).message}`, { cause: error });
  }
  const releaseWriter = () => {
    if (keepOpen === undefined) return;
    closeSync(keepOpen);
    keepOpen = undefined;
    void cleanup();
  };

  const ownExtras = inheritableOwnFds();
  const passedDownFds = request.inheritFds ? ownExtras : [];
  let file = strace;
  let args = request.straceArgs(fifo);
  if (!request.inheritFds && ownExtras.length > 0) {
    // Node cannot close fds in a child before exec; bash can, then execs strace in place.
    const closing = ownExtras.map((fd) => `${fd}>&-`).join(' ');
    file = findProgram('bash', request.cwd) ?? '/bin/bash';
    args = ['-c', `exec ${closing}; exec "$@"`, 'prefork-check', strace, ...args];
  }

  const child = execa(file, args, {
    cwd: request.cwd,
    env: { PYTHONUNBUFFERED: '1', ...request.env },
    stdio: 'inherit',
    detached: true,
    reject: false,
    cleanup: true,
  });
  const pid = child.pid;
  // The app inherits exactly our stdio and the fds passed down. (strace's own 0 and 1
  // are no guide: it swaps them for pipes of its own once the app has started.)
  const initialFds = [0, 1, 2, ...passedDownFds].map((fd) => readKernelFd('self', fd)).filter((info) => info !== undefined);

  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  reader.once('data', releaseWriter);
  void child.finally(releaseWriter);

  let stopped = false;
  const stop = async (pids: Iterable<number>) => {
    if (stopped) return;
    stopped = true;
    killAll(pid, pids);
    await Promise.race([child, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    releaseWriter();
    reader.destroy();
    await cleanup();
  };

  return { lines: readLines(reader), initialFds, passedDownFds, child, stop };
}

function killAll(groupLeader: number | undefined, pids: Iterable<number>): void {
  const signalled = new Set<number>();
  const kill = (target: number) => {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  if (groupLeader !== undefined) kill(-groupLeader);
  // Processes that left the group (setsid) are still known from the trace.
  for (const pid of pids) {
    if (pid > 1 && pid !== process.pid && !signalled.has(pid)) {
      signalled.add(pid);
      kill(pid);
    }
  }
  if (groupLeader !== undefined) kill(groupLeader);
}
