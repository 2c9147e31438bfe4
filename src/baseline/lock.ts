import { randomHex } from '../files/random-hex.js';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { PreforkCheckError } from '../errors.js';

const WAIT_MS = 60_000;
const POLL_MS = 50;

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes `lock` holding our pid, whole or not at all: the pid is written to a
 * temp file that is then hard-linked to the lock's name, so no other run ever
 * reads a lock that is there but still empty (and takes it for a dead one).
 * False when the lock is someone else's.
 */
function tryLock(lock: string): boolean {
  const temp = `${lock}.${process.pid}.${randomHex(6)}`;
  try {
    // Inside the try: a write that fails (ENOSPC) after the file was made leaves no temp file.
    writeFileSync(temp, String(process.pid), { flag: 'wx', mode: 0o644 });
    linkSync(temp, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // No hard links here: create exclusively and write (a reader may briefly see it empty).
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o644 });
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The pid in a lock, or undefined when it is gone (released) or not a pid (being written). */
function holderOf(lock: string): number | undefined {
  try {
    const holder = Number(readFileSync(lock, 'utf8'));
    return Number.isInteger(holder) && holder > 0 ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A lock left by a process that is gone (killed with SIGKILL) is moved aside
 * under a name of our own, and removed only if it still names that process:
 * a waiter that moved a fresh lock by mistake puts it back.
 */
function takeOver(lock: string, deadHolder: number): void {
  const aside = `${lock}.stale.${process.pid}.${randomHex(6)}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else moved it first
  }
  if (holderOf(aside) !== deadHolder) {
    try {
      linkSync(aside, lock);
    } catch {
      // A third run has locked meanwhile: its lock stands.
    }
  }
  rmSync(aside, { force: true });
}

/**
 * Runs `work` while holding `<file>.lock`, which names our pid, so parallel
 * runs updating one baseline take turns and none loses another's entries.
 */
export async function withFileLock<T>(file: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    // Ctrl-C while another run holds it: stop waiting at once.
    if (signal?.aborted)
      throw new PreforkCheckError('INTERRUPTED', `Interrupted while waiting for the lock on the baseline ${file}.`);
    try {
      if (tryLock(lock)) break;
    } catch (error) {
      throw new PreforkCheckError(
        'REPORT_WRITE_FAILED',
        `Cannot lock the baseline ${file} (${lock}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    const holder = holderOf(lock);
    if (holder !== undefined && !alive(holder)) {
      takeOver(lock, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new PreforkCheckError(
        'REPORT_WRITE_FAILED',
        `The baseline ${file} stayed locked${holder === undefined ? '' : ` by pid ${holder}`} for ${WAIT_MS / 1000} s (${lock}); if no prefork-check is running, delete the lock file.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}
