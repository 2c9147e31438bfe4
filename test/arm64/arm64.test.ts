import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { FIXTURE_CASES, expectFixtureRun } from '../helpers/fixture-cases.js';
import { readKernelViewFile } from '../helpers/kernel-view.js';
import { reportedOrigins } from '../helpers/origins.js';
import { leakLines } from '../helpers/run-cli.js';
import { TRACER_COMPARED_FIXTURES, verdict } from '../helpers/verdict.js';
import { closedByKernel, closedFds } from '../helpers/worker-closes.js';
import { checkOnArm64, hasImage, type GuestCheck, type PlannedCheck } from './machine.js';

/**
 * The package's arm64 tracer on an arm64 kernel (Debian's, emulated by qemu): the fixture apps'
 * verdicts, their tables against the kernel's own, the same verdicts as strace there, the first
 * worker followed through its hook, and the races the tracer must hold still for.
 * `npm run test:arm64` builds the machine first.
 */

const RACE_RUNS = 10;
const APPS = '/opt/check';
const entry = (name: string, file = 'app.py') => `${APPS}/fixtures/${name}/${file}`;
const WORKER_HOOK = [
  { mode: 'close', closed: [3, 5, 6] },
  { mode: 'dup2', closed: [3] },
  { mode: 'late', closed: [] },
];
const hookId = ({ mode }: { mode: string }) => `worker-hook-${mode}`;
/** The gunicorn example as the slow suite runs it: --preload, two workers, the preset found from the command. */
const gunicorn = (variant: string) =>
  ['gunicorn', '--chdir', `${APPS}/examples/gunicorn/${variant}`, '--preload', '--bind', '127.0.0.1:0'].concat([
    '--workers',
    '2',
    'app:app',
  ]);
const native = (...args: string[]) => ['--tracer', 'native', ...args];

const plan: PlannedCheck[] = [
  ...FIXTURE_CASES.map(({ name, file }) => ({
    id: `native-${name}`,
    args: native('--entry', entry(name, file), '--fork-marker', 'READY'),
  })),
  ...TRACER_COMPARED_FIXTURES.filter((name) => !FIXTURE_CASES.some((known) => known.name === name)).map((name) => ({
    id: `native-${name}`,
    args: native('--entry', entry(name), '--fork-marker', 'READY'),
  })),
  ...TRACER_COMPARED_FIXTURES.map((name) => ({
    id: `strace-${name}`,
    args: ['--tracer', 'strace', '--entry', entry(name), '--fork-marker', 'READY'],
  })),
  ...WORKER_HOOK.map((run) => ({
    id: hookId(run),
    args: native('--fork-at-first-fork', '--', 'python3', entry('worker-hook'), run.mode),
  })),
  {
    id: 'worker-hook-ruby',
    args: native('--fork-at-first-fork', '--', 'ruby', entry('worker-hook', 'app.rb'), 'close'),
  },
  ...Array.from({ length: RACE_RUNS }, (_, run) => [
    { id: `close-after-fork-${run}`, args: native('--fork-at-first-fork', '--', `${APPS}/native/close-after-fork`) },
    {
      id: `close-after-marker-${run}`,
      args: native('--fork-marker', 'READY', '--', `${APPS}/native/close-after-marker`),
    },
  ]).flat(),
  ...(['leaky', 'fixed'] as const).map((variant) => ({
    id: `gunicorn-${variant}`,
    // gunicorn starts slowly in an emulated machine: more than the default 30 s when its host is busy.
    args: native('--timeout', '120', '--', 'env', `APP_DATA=/tmp/runs/gunicorn-${variant}`, ...gunicorn(variant)),
  })),
  { id: 'native-thread-copy', args: native('--fork-marker', 'READY', '--', `${APPS}/native/thread-copy`) },
  {
    id: 'strace-thread-copy',
    args: ['--tracer', 'strace', '--fork-marker', 'READY', '--', `${APPS}/native/thread-copy`],
  },
  // arm64 adds no filter per copy of stdout (every write stops once there): 0 filters expected.
  { id: 'watch-signals', args: native('--fork-marker', 'READY', '--', `${APPS}/native/watch-signals`, '0') },
];

// CI builds the machine (.ci/run), so there it always runs.
describe.skipIf(!hasImage() && !process.env.CI)('the arm64 tracer, on an arm64 kernel', () => {
  let checks: Map<string, GuestCheck>;
  const ran = (id: string): GuestCheck => {
    const found = checks.get(id);
    if (!found) throw new Error(`the arm64 machine did not run ${id}`);
    return found;
  };

  beforeAll(async () => {
    checks = await checkOnArm64(plan, 25 * 60_000);
  }, 26 * 60_000);

  test('every check ran there, traced by the native tracer on aarch64', () => {
    expect([...checks.keys()].sort()).toEqual(plan.map(({ id }) => id).sort());
    for (const { id } of plan.filter(({ args }) => args[1] === 'native'))
      expect(ran(id).report?.tool.tracer, `${id}: ${ran(id).stderr}`).toBe('native');
  });

  test.each(FIXTURE_CASES)('fixture $name: its leaks, at their lines, and the kernel’s own table', (fixtureCase) => {
    expectFixtureRun(fixtureCase, ran(`native-${fixtureCase.name}`), (report) =>
      reportedOrigins(report).map((origin) => origin.replace(`${APPS}/`, '')),
    );
  });

  test.each(TRACER_COMPARED_FIXTURES)('fixture %s: the verdict strace gives there, fd for fd', (name) => {
    const [ours, strace] = [ran(`native-${name}`), ran(`strace-${name}`)];
    expect(strace.report, strace.stderr).toBeDefined();
    expect(ours.exitCode).toBe(strace.exitCode);
    expect(verdict(ours.report!, ours.scratch)).toEqual(verdict(strace.report!, strace.scratch));
    expect(ours.report!.leaks.length).toBeGreaterThan(0);
  });

  // The first worker stops at every call until it is ready (--closes-in-children): its closes and
  // dup2s are read from arm64's calls, and what it let go of is what its own table no longer has.
  test.each(WORKER_HOOK)('worker hook, Python, $mode: what the first worker closed before it served', (run) => {
    const check = ran(hookId(run));
    const report = check.report!;
    expect(report.forkPoint.worker?.ready, check.stderr).toBe(true);
    expect(closedFds(report), report.forkPoint.worker?.how).toEqual(run.closed);
    if (run.mode === 'late') return; // closed after the worker began to serve: gone from its table, still counted
    const worker = readKernelViewFile(join(check.files, 'worker-view.json'));
    expect(closedFds(report)).toEqual(closedByKernel(check.kernel!, worker));
  });

  test("worker hook, Ruby: the worker's IO#close before it serves is not counted, at its line", () => {
    const check = ran('worker-hook-ruby');
    expect(check.report!.forkPoint.worker?.ready, check.stderr).toBe(true);
    const log = check.report!.leaks.find((leak) => leak.target.endsWith('master.log'))!;
    expect(log.closedInWorker).toMatchObject({
      syscall: 'close',
      origin: { file: entry('worker-hook', 'app.rb'), line: 11 },
    });
    expect(leakLines(check.report!)).toEqual([expect.stringMatching(/^socket tcp 127\.0\.0\.1:\d+$/)]);
  });

  // A real server's master on arm64: gunicorn's arbiter, its first worker fork, its preset.
  test('gunicorn --preload: the leaky example fails with exactly its leak, at its line; the fixed one passes', () => {
    const [leaky, fixed] = [ran('gunicorn-leaky'), ran('gunicorn-fixed')];
    expect(leaky.exitCode, leaky.report?.error?.message ?? leaky.stderr).toBe(1);
    expect(leaky.report!.preset).toEqual({ name: 'gunicorn', detected: true });
    expect(leaky.report!.forkPoint).toMatchObject({ mode: 'first-fork', reached: true });
    expect(leakLines(leaky.report!)).toEqual([`file ${leaky.scratch}/app.db`]);
    expect(leaky.report!.leaks.find((leak) => !leak.allowed)!.origin).toMatchObject({
      file: `${APPS}/examples/gunicorn/leaky/app.py`,
      line: 13, // marked `# leak`
      function: '<module>',
    });
    expect(fixed.exitCode, `${fixed.stderr}\n${leakLines(fixed.report!).join('\n')}`).toBe(0);
    expect(fixed.report!.leaks.filter((leak) => leak.allowed).length).toBe(leaky.report!.leaks.length - 1);
  });

  test.each(['close-after-fork', 'close-after-marker'])(
    '%s: a file another thread closes the moment the fork point passes is reported, in every run',
    (name) => {
      for (let index = 0; index < RACE_RUNS; index++) {
        const check = ran(`${name}-${index}`);
        expect(check.exitCode, check.stderr).toBe(1);
        expect(check.report!.leaks.map((leak) => leak.target)).toEqual([`${check.scratch}/inherited.log`]);
      }
    },
  );

  test('a copy of stdout one thread makes is watched at once: the marker another thread writes through it is seen', () => {
    const [ours, strace] = [ran('native-thread-copy'), ran('strace-thread-copy')];
    expect([ours.exitCode, strace.exitCode], ours.stderr).toEqual([1, 1]);
    expect(ours.report!.forkPoint.reached).toBe(true);
    expect(verdict(ours.report!, ours.scratch)).toEqual(verdict(strace.report!, strace.scratch));
  });

  test('signals that come while the app is traced arrive, every one, in order, as sent', () => {
    const check = ran('watch-signals');
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.report!.forkPoint.reached).toBe(true); // READY comes only when every signal did
  });
});
