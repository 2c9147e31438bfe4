import { spawn } from 'node:child_process';
import { randomHex } from '../files/random-hex.js';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** One GET; resolves with the status, rejects on a connection error or after `timeoutMs`. */
export function get(url: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    // An abort (Ctrl-C) ends the request at once, not when the server answers.
    const req = httpRequest(
      url,
      { method: 'GET', agent: false, timeout: timeoutMs, ...(signal ? { signal } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs the driver command once through bash, in a process group of its own:
 * at `timeoutMs`, or when `signal` aborts, the whole group is killed (a
 * `sleep` it started too). Resolves with its exit status, or 'timeout'.
 */
export function drive(command: string, timeoutMs: number, signal?: AbortSignal): Promise<number | 'timeout'> {
  return new Promise((resolve) => {
    // Every process the step starts carries this mark, also one that left the group with setsid().
    const mark = `${DRIVE_MARK}=${randomHex(8)}`;
    const child = spawn('bash', ['-c', command], {
      stdio: 'ignore',
      detached: true,
      env: { ...process.env, [DRIVE_MARK]: mark.slice(DRIVE_MARK.length + 1) },
    });
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      killMarked(mark);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    signal?.addEventListener('abort', killGroup, { once: true });
    const done = (status: number) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', killGroup);
      resolve(timedOut ? 'timeout' : status);
    };
    child.once('exit', (code) => {
      // The step is over for its whole group: nothing it started runs on into the next one.
      killGroup();
      done(code ?? 1);
    });
    child.once('error', () => done(127));
  });
}

const DRIVE_MARK = 'PREFORK_CHECK_DRIVE_STEP';

/** SIGKILLs every process whose environment holds `mark` (NAME=value): what a step started, wherever it went. */
function killMarked(mark: string): void {
  const wanted = Buffer.from(`\0${mark}\0`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // NUL-separated; framed with a NUL so that the first entry matches too.
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`), Buffer.from([0])]);
      if (environ.includes(wanted)) process.kill(Number(name), 'SIGKILL');
    } catch {
      // Gone, or not ours to read.
    }
  }
}

/** Whether something listens on the port now. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
