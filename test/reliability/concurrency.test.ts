import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { checkFork } from '../../src/check/check-fork.js';
import { runChecks } from '../../src/run/run-checks.js';
import { argv0, processesWithEnv, waitFor } from '../helpers/processes.js';
import { ROOT, fixture, leakLines, scratch } from '../helpers/run-cli.js';

const MARK = 'PREFORK_CHECK_LOCK_TEST';

// Checks of different apps at once, each with its own scratch dir: temp dirs, fifos and tokens are per run.
const apps = [
  { name: 'tcp', leaks: 3 },
  { name: 'pipe', leaks: 2 },
  { name: 'leaky', leaks: 1 },
  { name: 'clean', leaks: 0 },
  { name: 'anon', leaks: 4 },
  { name: 'unix', leaks: 4 },
];

describe('checks running at once do not interfere', () => {
  test.concurrent.each(apps)('$name, alongside the others in this Vitest run', async ({ name, leaks }) => {
    const dir = scratch();
    const report = await checkFork({
      entry: fixture(name),
      forkMarker: 'READY',
      cwd: ROOT,
      env: { FIXTURE_SCRATCH: dir },
    });
    expect(leakLines(report)).toHaveLength(leaks);
    for (const leak of report.leaks)
      if (leak.kind === 'file' || leak.kind === 'directory') expect(leak.target.startsWith(dir)).toBe(true);
  });

  test('runChecks with all of them in parallel: each report is its own app’s', async () => {
    const dirs = apps.map(() => scratch());
    const result = await runChecks({
      checks: apps.map(({ name }, i) => ({
        name,
        entry: fixture(name),
        forkMarker: 'READY',
        cwd: ROOT,
        env: { FIXTURE_SCRATCH: dirs[i]! },
      })),
      projectRoot: ROOT,
      concurrency: apps.length,
    });
    expect(result.checks.map((report) => [report.name, leakLines(report).length])).toEqual(
      apps.map(({ name, leaks }) => [name, leaks]),
    );
    result.checks.forEach((report, i) => {
      for (const leak of report.leaks) if (leak.kind === 'file') expect(leak.target.startsWith(dirs[i]!)).toBe(true);
    });
  });
});

describe('the baseline lock', () => {
  // Six processes each add to one counter file 25 times under the lock, as --update-baseline
  // read-merge-writes the baseline. A lock taken twice at once loses an increment.
  test('six processes taking it 25 times each lose no update', async () => {
    const dir = scratch();
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    const script = `
      const { withFileLock } = await import(${JSON.stringify(join(ROOT, 'dist/baseline/lock.js'))});
      const { readFileSync, writeFileSync } = await import('node:fs');
      for (let i = 0; i < 25; i++) {
        await withFileLock(process.argv[1], async () => {
          const value = Number(readFileSync(process.argv[1], 'utf8'));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
          writeFileSync(process.argv[1], String(value + 1));
        });
      }`;
    const runs = Array.from({ length: 6 }, () =>
      execa('node', ['--input-type=module', '-e', script, counter], { reject: false }),
    );
    for (const run of await Promise.all(runs)) expect(run.exitCode, run.stderr).toBe(0);
    expect(readFileSync(counter, 'utf8')).toBe('150');
    expect(readdirSync(dir).sort()).toEqual(['counter']);
  }, 120_000);

  test('a lock still being written (empty for a moment) is not taken for a dead one', async () => {
    const dir = scratch();
    const file = join(dir, 'baseline.json');
    writeFileSync(`${file}.lock`, '');
    const { withFileLock } = await import('../../src/baseline/lock.js');
    let ran = false;
    const locked = withFileLock(file, async () => (ran = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toBe(false);
    // Its writer finishes, then releases it.
    writeFileSync(`${file}.lock`, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ran).toBe(false);
    rmSync(`${file}.lock`);
    await locked;
    expect(ran).toBe(true);
  });

  test('Ctrl-C while another run holds the lock: exit 130 at once, not after the 60 s wait; the lock is left to its holder', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'app.py'), 'print("READY", flush=True)\nimport time\ntime.sleep(30)\n');
    // A live holder: this test's own process.
    writeFileSync(join(dir, 'prefork-check.baseline.json.lock'), String(process.pid));
    const mark = randomUUID();
    const cli = execa(
      'node',
      [join(ROOT, 'dist/cli.js'), '--update-baseline', '--fork-marker', 'READY', '--entry', 'app.py'],
      {
        cwd: dir,
        env: { [MARK]: mark },
        reject: false,
        stdin: 'ignore',
        buffer: true,
      },
    );
    // The check is done once its app (marked) has come and gone; then it waits for the lock.
    const app = () => processesWithEnv(MARK, mark).filter((pid) => /python/.test(argv0(pid)));
    await waitFor(() => app().length > 0, 15_000, 20);
    await waitFor(() => app().length === 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = Date.now();
    cli.kill('SIGINT');
    const result = await cli;
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toMatch(/Interrupted while waiting for the lock on the baseline/);
    expect(readFileSync(join(dir, 'prefork-check.baseline.json.lock'), 'utf8')).toBe(String(process.pid));
    expect(readdirSync(dir).sort()).toEqual(['app.py', 'prefork-check.baseline.json.lock']);
  });

  test('a full disk (ENOSPC) while taking the lock: an error, and no temp file left behind', async (context) => {
    const dir = scratch();
    // A tiny file system of its own, filled up; root only.
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).status !== 0) context.skip();
    try {
      writeFileSync(join(dir, 'fill'), Buffer.alloc(4096));
      const { withFileLock } = await import('../../src/baseline/lock.js');
      await expect(withFileLock(join(dir, 'baseline.json'), async () => undefined)).rejects.toThrow(/ENOSPC/);
      expect(readdirSync(dir)).toEqual(['fill']);
    } finally {
      spawnSync('umount', [dir]);
    }
  });

  test('a lock left by a process that is gone is taken over', async () => {
    const dir = scratch();
    const file = join(dir, 'baseline.json');
    writeFileSync(`${file}.lock`, '2147483646');
    const { withFileLock } = await import('../../src/baseline/lock.js');
    expect(await withFileLock(file, async () => 'ran')).toBe('ran');
    expect(readdirSync(dir)).toEqual([]);
  });
});
