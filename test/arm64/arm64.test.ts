import { beforeAll, describe, expect, test } from 'vitest';
import { FIXTURE_CASES, leaksMatch } from '../helpers/fixture-cases.js';
import { expectTableMatchesKernel } from '../helpers/kernel-view.js';
import { declaredOrigins, reportedOrigins } from '../helpers/origins.js';
import { fixture, leakLines } from '../helpers/run-cli.js';
import { TRACER_COMPARED_FIXTURES, verdict } from '../helpers/verdict.js';
import { checkOnArm64, hasImage, type GuestCheck, type PlannedCheck } from './machine.js';

/**
 * The package's arm64 tracer on an arm64 kernel (Debian's, emulated by qemu): the fixture apps'
 * verdicts, their tables against the kernel's own, the same verdicts as strace there, and the
 * races the tracer must hold still for. `npm run test:arm64` builds the machine first.
 */

const PYTHON_CASES = FIXTURE_CASES.filter(({ file }) => !file?.endsWith('.rb')); // the machine has no Ruby
const RACE_RUNS = 10;
const APPS = '/opt/check';
const entry = (name: string) => `${APPS}/fixtures/${name}/app.py`;

const plan: PlannedCheck[] = [
  ...PYTHON_CASES.map(({ name }) => ({
    id: `native-${name}`,
    args: ['--tracer', 'native', '--entry', entry(name), '--fork-marker', 'READY'],
  })),
  ...TRACER_COMPARED_FIXTURES.filter((name) => !PYTHON_CASES.some((known) => known.name === name)).map((name) => ({
    id: `native-${name}`,
    args: ['--tracer', 'native', '--entry', entry(name), '--fork-marker', 'READY'],
  })),
  ...TRACER_COMPARED_FIXTURES.map((name) => ({
    id: `strace-${name}`,
    args: ['--tracer', 'strace', '--entry', entry(name), '--fork-marker', 'READY'],
  })),
  ...Array.from({ length: RACE_RUNS }, (_, run) => [
    {
      id: `close-after-fork-${run}`,
      args: ['--tracer', 'native', '--fork-at-first-fork', '--', `${APPS}/native/close-after-fork`],
    },
    {
      id: `close-after-marker-${run}`,
      args: ['--tracer', 'native', '--fork-marker', 'READY', '--', `${APPS}/native/close-after-marker`],
    },
  ]).flat(),
  {
    id: 'native-thread-copy',
    args: ['--tracer', 'native', '--fork-marker', 'READY', '--', `${APPS}/native/thread-copy`],
  },
  {
    id: 'strace-thread-copy',
    args: ['--tracer', 'strace', '--fork-marker', 'READY', '--', `${APPS}/native/thread-copy`],
  },
  // arm64 adds no filter per copy of stdout (every write stops once there): 0 filters expected.
  {
    id: 'watch-signals',
    args: ['--tracer', 'native', '--fork-marker', 'READY', '--', `${APPS}/native/watch-signals`, '0'],
  },
];

// CI builds the machine (.ci/run), so there it always runs.
describe.skipIf(!hasImage() && !process.env.CI)('the arm64 tracer, on an arm64 kernel', () => {
  let checks: Map<string, GuestCheck>;
  const run = (id: string): GuestCheck => {
    const found = checks.get(id);
    if (!found) throw new Error(`the arm64 machine did not run ${id}`);
    return found;
  };
  /** The report's leaks' origins, with the apps' dir on the machine as this repo's root. */
  const origins = (check: GuestCheck) => reportedOrigins(check.report!).map((origin) => origin.replace(`${APPS}/`, ''));

  beforeAll(async () => {
    checks = await checkOnArm64(plan, 25 * 60_000);
  }, 26 * 60_000);

  test('every check ran there, traced by the native tracer on aarch64', () => {
    expect([...checks.keys()].sort()).toEqual(plan.map(({ id }) => id).sort());
    for (const { id } of plan.filter(({ args }) => args[1] === 'native'))
      expect(run(id).report?.tool.tracer, `${id}: ${run(id).stderr}`).toBe('native');
  });

  test.each(PYTHON_CASES)(
    'fixture $name: its leaks, at their lines, and the kernel’s own table',
    ({ name, leaks, exitCode = 1 }) => {
      const check = run(`native-${name}`);
      expect(check.report, check.stderr).toBeDefined();
      const report = check.report!;
      const expected = leaks(check.scratch);
      expect(
        leaksMatch(leakLines(report), expected),
        `leaks ${JSON.stringify(leakLines(report))}, expected ${JSON.stringify(expected)}`,
      ).toBe(true);
      expect(check.exitCode).toBe(exitCode);
      expect(report.forkPoint.reached).toBe(true);
      expect(origins(check)).toEqual(declaredOrigins(fixture(name)));
      expect(check.kernel, 'the fixture recorded no kernel view').toBeDefined();
      expect(check.kernel!.pid).toBe(report.forkPoint.pid);
      expectTableMatchesKernel(report.table, check.kernel!);
    },
  );

  test.each(TRACER_COMPARED_FIXTURES)('fixture %s: the verdict strace gives there, fd for fd', (name) => {
    const [native, strace] = [run(`native-${name}`), run(`strace-${name}`)];
    expect(strace.report, strace.stderr).toBeDefined();
    expect(native.exitCode).toBe(strace.exitCode);
    expect(verdict(native.report!, native.scratch)).toEqual(verdict(strace.report!, strace.scratch));
    expect(native.report!.leaks.length).toBeGreaterThan(0);
  });

  test.each(['close-after-fork', 'close-after-marker'])(
    '%s: a file another thread closes the moment the fork point passes is reported, in every run',
    (name) => {
      for (let index = 0; index < RACE_RUNS; index++) {
        const check = run(`${name}-${index}`);
        expect(check.exitCode, check.stderr).toBe(1);
        expect(check.report!.leaks.map((leak) => leak.target)).toEqual([`${check.scratch}/inherited.log`]);
      }
    },
  );

  test('a copy of stdout one thread makes is watched at once: the marker another thread writes through it is seen', () => {
    const [native, strace] = [run('native-thread-copy'), run('strace-thread-copy')];
    expect([native.exitCode, strace.exitCode], native.stderr).toEqual([1, 1]);
    expect(native.report!.forkPoint.reached).toBe(true);
    expect(verdict(native.report!, native.scratch)).toEqual(verdict(strace.report!, strace.scratch));
  });

  test('signals that come while the app is traced arrive, every one, in order, as sent', () => {
    const check = run('watch-signals');
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.report!.forkPoint.reached).toBe(true); // READY comes only when every signal did
  });
});
