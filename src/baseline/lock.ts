import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * Runs `work` while holding `<file>.lock`, made exclusively with our pid in
 * it, so parallel runs updating one baseline take turns and none loses
 * another's entries. A lock whose process is gone (killed with SIGKILL) is
 * taken over.
 */
export async function withFileLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new PreforkCheckError('REPORT_WRITE_FAILED', `Cannot lock the baseline ${file} (${lock}): ${(error as Error).message}`, { cause: error });
      }
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      continue; // released meanwhile: try again at once
    }
    if (!alive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new PreforkCheckError('REPORT_WRITE_FAILED', `The baseline ${file} stayed locked by pid ${holder} for ${WAIT_MS / 1000} s (${lock}); if no prefork-check is running, delete the lock file.`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}
