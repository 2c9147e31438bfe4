import { describe, expect, test } from 'vitest';
import { checkFork, preflightCheck } from '../src/check-fork.js';
import { ensureTracingWorks } from '../src/launch/diagnose.js';
import { screenAtMarker } from '../src/screen.js';
import { expectTableMatchesKernel } from './helpers/kernel-view.js';
import { ROOT, fixture, runCli, scratch } from './helpers/run-cli.js';

const FIXTURES = ['clean', 'leaky', 'tcp', 'udp', 'unix', 'pipe', 'socketpair', 'popen', 'anon', 'ctypes', 'sqlite', 'thread', 'dup2', 'execv', 'atexit-socket', 'log-twice', 'split-marker', 'stderr-marker', 'thread-pool', 'fork-child', 'signals'];

describe('the fast pass and the full trace agree', () => {
  test.concurrent.each(FIXTURES)('%s', async (name) => {
    const options = { entry: fixture(name), forkMarker: 'READY', cwd: ROOT };
    const deep = await checkFork({ ...options, deep: true, env: { FIXTURE_SCRATCH: scratch() } });
    const resolved = preflightCheck({ ...options, env: { FIXTURE_SCRATCH: scratch() } });
    const screen = await screenAtMarker(resolved, resolved.strace, 'READY', ensureTracingWorks(resolved.strace));
    // Clean by the fast pass exactly when the full trace finds nothing beyond stdio.
    expect(screen.outcome).toBe(deep.leaks.length === 0 ? 'clean' : 'deep');
  });

  test('a clean app is answered by the fast pass, and its table is the kernel’s', async () => {
    const run = await runCli(['--entry', fixture('clean'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(0);
    expect(run.report!.forkPoint.notes).toEqual(['fast pass: only stdio was open at the marker']);
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  test('a leaky app gets the full trace: every leak with its line', async () => {
    const run = await runCli(['--entry', fixture('leaky'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.forkPoint.notes).toEqual([]);
    expect(run.report!.leaks[0]!.origin).toMatchObject({ file: 'fixtures/leaky/app.py', line: 8 });
  });

  test('a stdout redirected to a file is not the marker stream in the fast pass either', async () => {
    const code = 'import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)\nos.dup2(fd, 1)\nos.close(fd)\nprint("READY", flush=True)';
    const run = await runCli(['--fork-marker', 'READY', '--timeout', '3', '--', 'python3', '-c', code, `${scratch()}/out.txt`]);
    // READY went to the file: the marker was never written to the stdout the app was started with.
    expect(run.report!.error?.code).toBe('APP_EXITED_BEFORE_FORK_POINT');
  });
});
