import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { CLI, ROOT, fixture, scratch } from '../helpers/run-cli.js';
import { pythonHas } from '../helpers/installed.js';

// Debian's pytest (python3-pytest, python3-pytest-xdist), and the plugin installed the way the
// README says, offline, into a venv that sees Debian's packages.
const hasPytest = pythonHas('pytest, xdist');
let python = '';

beforeAll(() => {
  if (!hasPytest) return;
  const dir = scratch();
  const venv = join(dir, 'venv');
  // A copy: pip builds in the source tree, which stays as it is.
  cpSync(join(ROOT, 'integrations/pytest'), join(dir, 'plugin'), { recursive: true });
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv]);
  execFileSync(join(venv, 'bin/pip'), [
    'install',
    '--quiet',
    '--no-index',
    '--no-build-isolation',
    join(dir, 'plugin'),
  ]);
  python = join(venv, 'bin/python');
}, 120_000);

/** pytest in a scratch project holding `files`, with a JUnit report; the CLI found through PREFORK_CHECK. */
async function pytest(
  files: Record<string, string>,
  args: string[] = [],
  cli = `node ${CLI}`,
  path = process.env.PATH,
) {
  const dir = scratch();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const run = await execa(python, ['-m', 'pytest', '-p', 'no:cacheprovider', `--junitxml=${dir}/junit.xml`, ...args], {
    cwd: dir,
    reject: false,
    env: { PREFORK_CHECK: cli, FIXTURE_SCRATCH: dir, PATH: path },
  });
  return { ...run, junit: readFileSync(join(dir, 'junit.xml'), 'utf8'), dir };
}

const tests = `
def test_leaky(prefork_check):
    prefork_check(["python3", ${JSON.stringify(fixture('leaky'))}], fork_marker="READY")

def test_clean(prefork_check):
    check = prefork_check(["python3", ${JSON.stringify(fixture('clean'))}], fork_marker="READY")
    assert check["status"] == "pass" and check["forkPoint"]["reached"]

def test_never_ready(prefork_check):
    prefork_check(["python3", "-c", "pass"], fork_marker="READY")

def test_leaky_unchecked(prefork_check):
    check = prefork_check(["python3", ${JSON.stringify(fixture('leaky'))}], fork_marker="READY", check=False)
    assert [leak["kind"] for leak in check["leaks"]] == ["file"]
`;

describe.runIf(hasPytest)('pytest: the prefork_check fixture', () => {
  test.each([[[]], [['-n', '2']]])(
    'a leak fails its test naming the fd, its line and the fix; clean passes; an app that never forks is an error (args %j)',
    async (args) => {
      const run = await pytest({ 'test_fork.py': tests }, args);
      expect(run.exitCode, run.stdout).toBe(1);
      expect(run.stdout).toMatch(/2 failed, 2 passed/);
      // The leak: a failure whose message is the console report.
      const leaky = /<testcase [^>]*name="test_leaky"[^>]*>\s*<failure message="([^"]*)"/.exec(run.junit)?.[1] ?? '';
      expect(leaky).toMatch(/fd 3 +file +\S*app\.log/);
      expect(leaky).toMatch(/origin +\S*fixtures\/leaky\/app\.py:\d+ in &lt;module&gt;/);
      expect(leaky).toMatch(/fix +A file opened while the app loaded/);
      // Could not be done: PreforkCheckError, never a pass or a skip.
      expect(run.stdout).toMatch(/PreforkCheckError: The app \(.*\) exited with status 0 before the fork point/);
    },
  );

  test('pytest --prefork-check: each check of the config is a test, also under -n 2', async () => {
    const config = {
      forkMarker: 'READY',
      checks: [
        { name: 'web', command: ['python3', fixture('leaky')] },
        { name: 'worker', command: ['python3', fixture('clean')] },
      ],
    };
    for (const args of [['--prefork-check'], ['--prefork-check', '-n', '2']]) {
      const run = await pytest({ 'prefork-check.config.json': JSON.stringify(config) }, args);
      expect(run.exitCode, run.stdout).toBe(1);
      expect(run.stdout).toMatch(/1 failed, 1 passed/);
      const web = /<testcase [^>]*name="web"[^>]*>\s*<failure message="([^"]*)"/.exec(run.junit)?.[1] ?? '';
      expect(web).toMatch(/fd 3 +file +\S*app\.log/);
      expect(run.junit).toMatch(/<testcase [^>]*name="worker"[^>]*\/>/);
    }
  });

  test('no CLI to be found: an error naming the four ways it is looked for', async () => {
    // Nothing on PATH: no prefork-check, no npx.
    const run = await pytest(
      { 'test_fork.py': 'def test_it(prefork_check):\n    prefork_check(["true"])\n' },
      [],
      '',
      '/nonexistent',
    );
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/PreforkCheckError: prefork-check was not found\. Set PREFORK_CHECK/);
    expect(run.stdout).toMatch(/on PATH, install it in node_modules .*npx --no prefork-check/s);
  });

  test('--prefork-check-update-baseline records the leak; the next run passes', async () => {
    const files = { 'test_fork.py': tests.split('\ndef test_clean')[0]! };
    const first = await pytest(files, ['--prefork-check-update-baseline']);
    expect(first.exitCode, first.stdout).toBe(0);
    expect(readFileSync(join(first.dir, 'prefork-check.baseline.json'), 'utf8')).toMatch(/"kind": "file"/);
    const again = await execa(python, ['-m', 'pytest', '-p', 'no:cacheprovider'], {
      cwd: first.dir,
      reject: false,
      env: { PREFORK_CHECK: `node ${CLI}`, FIXTURE_SCRATCH: first.dir },
    });
    expect(again.exitCode, again.stdout).toBe(0);
  });
});
