import { spawn, spawnSync } from 'node:child_process';
import { findProgram } from '../../src/launch/find-program.js';
import { freePort } from './ports.js';
import { waitFor } from './processes.js';
import { ROOT } from './run-cli.js';

/** Whether Debian's redis-server is installed (.ci/run installs it). */
export const REDIS = findProgram('redis-server', ROOT) !== undefined;

/** A real redis-server of the test's own on a free port, answering before this returns: its URL, and how to stop it. */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const up = await waitFor(
    () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG',
  );
  if (!up) {
    redis.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer`);
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => redis.kill('SIGKILL') };
}
