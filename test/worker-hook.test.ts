import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readKernelViewFile } from './helpers/kernel-view.js';
import { fixture, leakLines, runCli } from './helpers/run-cli.js';
import { closedByKernel, closedFds } from './helpers/worker-closes.js';

const hookApp = fixture('worker-hook');

/** The fixture's listening socket is a leak in every mode: it is not a server's own. */
const LISTENER = expect.stringMatching(/^socket tcp 127\.0\.0\.1:\d+$/);

describe('the first worker, followed to its ready point', () => {
  test("what its hook closed is not counted, each at the line that closed it, exactly as the worker's own table says", async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, 'close']);
    const report = run.report!;
    expect(report.forkPoint.worker).toEqual({
      pid: report.forkPoint.workerPid,
      ready: true,
      how: expect.stringMatching(
        /^(it waits in (accept4?\(\)|a call|syscall \d+)|accept4?\(\) on fd 4, a socket it inherited)$/,
      ),
    });
    expect(leakLines(report)).toEqual([LISTENER]);
    const worker = readKernelViewFile(join(run.scratch, 'worker-view.json'));
    expect(closedFds(report)).toEqual(closedByKernel(run.kernel!, worker));
    expect(closedFds(report)).toEqual([3, 5, 6]);
    const at = (fd: number) => report.leaks.find((leak) => leak.fd === fd)!.closedInWorker;
    expect(at(3)).toMatchObject({ pid: report.forkPoint.workerPid, syscall: 'close' });
    for (const [fd, line] of [
      [3, 28],
      [5, 29],
      [6, 30],
    ] as const)
      expect(at(fd)!.origin, `fd ${fd}`).toMatchObject({ file: 'fixtures/worker-hook/app.py', line, function: 'hook' });
    expect(run.stdout).toMatch(
      /fd 3 +file +\S+master\.log {2}\(closed by the worker \(pid \d+\) at fixtures\/worker-hook\/app\.py:28 in hook\)/,
    );
    expect(run.stdout).toMatch(/; 3 closed by the worker before it served$/m);
  });

  test('dup2 of another file over the inherited fd frees it; the line is the dup2', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, 'dup2']);
    const worker = readKernelViewFile(join(run.scratch, 'worker-view.json'));
    expect(closedFds(run.report!)).toEqual(closedByKernel(run.kernel!, worker));
    expect(closedFds(run.report!)).toEqual([3]);
    expect(run.report!.leaks.find((leak) => leak.fd === 3)!.closedInWorker).toMatchObject({
      syscall: 'dup2',
      origin: { line: 33, function: 'hook' },
    });
  });

  test.each([
    ['keep', 'nothing is closed'],
    ['dup', 'the log is closed, but a dup of it is kept'],
  ])('%s (%s): every fd still counts', async (mode) => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, mode]);
    expect(run.exitCode).toBe(1);
    expect(run.report!.forkPoint.worker?.ready).toBe(true);
    const worker = readKernelViewFile(join(run.scratch, 'worker-view.json'));
    expect(closedByKernel(run.kernel!, worker)).toEqual([]);
    expect(closedFds(run.report!)).toEqual([]);
    expect(leakLines(run.report!)).toEqual([
      `file ${run.scratch}/master.log`,
      expect.stringMatching(/^pipe pipe:\[\d+\]$/),
      expect.stringMatching(/^pipe pipe:\[\d+\]$/),
      LISTENER,
    ]);
  });

  test('closed only after it began to wait to serve: shared while serving, so it counts', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, 'late']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.forkPoint.worker).toMatchObject({ ready: true, how: expect.stringMatching(/^it waits in /) });
    expect(closedFds(run.report!)).toEqual([]);
    expect(leakLines(run.report!)).toContain(`file ${run.scratch}/master.log`);
  });

  test('a worker found waiting when it is judged a worker is ready there, though it exits soon after', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, 'brief']);
    expect(run.report!.forkPoint.worker).toMatchObject({ ready: true, how: expect.stringMatching(/^it waits in /) });
    expect(closedFds(run.report!)).toEqual([3, 5, 6]);
    expect(leakLines(run.report!)).toEqual([LISTENER]);
  });

  test('a worker that exits before it is ready excuses nothing, though the exit closed everything', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', hookApp, 'exit']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.forkPoint.worker).toMatchObject({
      ready: false,
      how: 'it exited with status 0 before it was ready to serve',
    });
    expect(closedFds(run.report!)).toEqual([]);
    expect(leakLines(run.report!)).toHaveLength(4);
    expect(run.stdout).toMatch(
      /worker: pid \d+ followed, but it exited with status 0 before it was ready to serve: nothing it closed is excused/,
    );
  });

  test('a worker that never waits is followed no longer than the timeout, and excuses nothing', async () => {
    const run = await runCli(['--fork-at-first-fork', '--timeout', '3', '--', 'python3', hookApp, 'busy']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.status).toBe('fail');
    expect(run.report!.forkPoint.worker).toMatchObject({
      ready: false,
      how: "it was not ready to serve within the check's timeout (3 s)",
    });
    expect(closedFds(run.report!)).toEqual([]);
    expect(run.report!.durationMs).toBeLessThan(6_000);
    expect(existsSync(join(run.scratch, 'worker-view.json'))).toBe(false);
  });
});

test("Ruby: a worker's IO#close before it serves is not counted, at its line", async () => {
  const app = fixture('worker-hook', 'app.rb');
  const closed = await runCli(['--fork-at-first-fork', '--', 'ruby', app, 'close']);
  expect(leakLines(closed.report!)).toEqual([LISTENER]);
  expect(closed.report!.leaks.find((leak) => leak.target.endsWith('master.log'))!.closedInWorker).toMatchObject({
    syscall: 'close',
    origin: { file: 'fixtures/worker-hook/app.rb', line: 11 },
  });
  const kept = await runCli(['--fork-at-first-fork', '--', 'ruby', app, 'keep']);
  expect(leakLines(kept.report!)).toEqual([`file ${kept.scratch}/master.log`, LISTENER]);
});
