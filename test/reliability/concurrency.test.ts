import { describe, expect, test } from 'vitest';
import { checkFork } from '../../src/check-fork.js';
import { runChecks } from '../../src/run/run-checks.js';
import { ROOT, fixture, leakLines, scratch } from '../helpers/run-cli.js';

// Checks of different apps at once, each with its own scratch dir: temp dirs, fifos and tokens are per run.
const apps = [
  { name: 'tcp', leaks: 3 },
  { name: 'pipe', leaks: 2 },
  { name: 'leaky', leaks: 1 },
  { name: 'clean', leaks: 0 },
  { name: 'anon', leaks: 4 },
  { name: 'unix', leaks: 2 },
];

describe('checks running at once do not interfere', () => {
  test.concurrent.each(apps)('$name, alongside the others in this Vitest run', async ({ name, leaks }) => {
    const dir = scratch();
    const report = await checkFork({ entry: fixture(name), forkMarker: 'READY', cwd: ROOT, env: { FIXTURE_SCRATCH: dir } });
    expect(leakLines(report)).toHaveLength(leaks);
    for (const leak of report.leaks) if (leak.kind === 'file' || leak.kind === 'directory') expect(leak.target.startsWith(dir)).toBe(true);
  });

  test('runChecks with all of them in parallel: each report is its own app’s', async () => {
    const dirs = apps.map(() => scratch());
    const result = await runChecks({
      checks: apps.map(({ name }, i) => ({ name, entry: fixture(name), forkMarker: 'READY', cwd: ROOT, env: { FIXTURE_SCRATCH: dirs[i]! } })),
      projectRoot: ROOT,
      concurrency: apps.length,
    });
    expect(result.checks.map((report) => [report.name, leakLines(report).length])).toEqual(apps.map(({ name, leaks }) => [name, leaks]));
    result.checks.forEach((report, i) => {
      for (const leak of report.leaks) if (leak.kind === 'file') expect(leak.target.startsWith(dirs[i]!)).toBe(true);
    });
  });
});
