import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { project } from '../helpers/project.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { treeState } from '../helpers/tree-state.js';

/** A config that says too much: exit 2, one line naming the input, no stack, no report, nothing changed. */
async function refused(config: string | object, error: RegExp) {
  const dir = project({ 'prefork-check.config.json': config });
  const before = treeState(dir);
  const run = await runCli([], { cwd: dir });
  expect(treeState(dir)).toEqual(before);
  expect(run.exitCode, run.stdout + run.stderr).toBe(2);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(error);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.report).toBeUndefined();
}

describe('hostile input is one line and exit 2, before anything runs', () => {
  test.concurrent('a config nested 100,000 levels deep', async () => {
    await refused(`{"checks": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /is nested more than 64 levels deep/);
  });

  test.concurrent('an env too large for the kernel (E2BIG)', async () => {
    await refused(
      { command: ['true'], env: { BIG: 'x'.repeat(200_000) } },
      /^prefork-check: Could not start strace: the environment and arguments are larger than the kernel takes \(E2BIG\)/,
    );
  });

  test.concurrent('a working directory that does not exist', async () => {
    await refused(
      { command: ['true'], cwd: 'no/such/dir' },
      /^prefork-check: The working directory .*no\/such\/dir does not exist or is not a directory\.$/,
    );
  });

  test.concurrent('an empty entry, and an entry that is a directory', async () => {
    const empty = await runCli(['--entry', '']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toBe('prefork-check: Expected `--entry` to name a Python file, got an empty path.');
    await refused({ entry: '/tmp' }, /^prefork-check: The entry \/tmp is not a file: give the Python file to run\.$/);
  });
});

describe('small bad inputs: one clear line, exit 2, before the app runs', () => {
  test.concurrent('"timeout": 1e999 names the range seconds take', async () => {
    const dir = project({ 'prefork-check.config.json': '{ "command": ["true"], "timeout": 1e999 }' });
    const run = await runCli([], { cwd: dir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/timeout: expected a number from 0\.001 to 2147483, got number Infinity \(line 1\)/);
  });

  test.concurrent('--allow with an unclosed bracket is refused, not taken as a glob that matches nothing', async () => {
    const run = await runCli(['--allow', '[', '--', 'true'], { json: false });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      'prefork-check: Invalid allow rule: allow[0]: the glob "[" has a "[" never closed (escape it with \\).',
    );
  });

  test.concurrent('--json under /proc is refused before the app runs', async () => {
    const run = await runCli(['--json', '/proc/self/report.json', '--', 'bash', '-c', 'echo STARTED'], { json: false });
    expect(run.exitCode).toBe(2);
    expect(run.stdout).not.toContain('STARTED');
    expect(run.stderr).toMatch(
      /^prefork-check: Cannot write the report \/proc\/self\/report\.json: no file can be made in the directory/,
    );
  });

  test.concurrent('a 100 KB marker is not echoed whole in the error', async () => {
    const run = await runCli(['--fork-marker', 'M'.repeat(100_000), '--', 'true']);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.message).toMatch(/marker "M{60}"… \(100000 characters\)/);
    expect(run.stdout.length + run.stderr.length).toBeLessThan(2000);
  });
});

describe('a step summary that cannot be written costs only the summary', () => {
  test('GITHUB_STEP_SUMMARY in a directory that does not exist: a warning, the verdict and the JSON report stand', async () => {
    const run = await runCli(
      ['--fork-marker', 'READY', '--', 'bash', '-c', 'exec 7</etc/hostname; echo READY; sleep 30'],
      {
        env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '/nonexistent/summary.md' },
      },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^prefork-check: warning: could not append the step summary to \/nonexistent\/summary\.md: ENOENT/,
    );
    expect(run.report!.leaks).toHaveLength(1);
    expect(existsSync(join(run.scratch, 'report.json'))).toBe(true);
  });
});

describe('outputs never overwrite inputs, and partial reports are as exact as full ones', () => {
  test('a report written over the baseline is refused before the app runs, and the baseline is kept', async () => {
    const dir = project({ 'prefork-check.baseline.json': { version: 1, entries: [] } });
    const baseline = join(dir, 'prefork-check.baseline.json');
    const before = treeState(dir);
    const run = await runCli(['--baseline', baseline, '--junit', baseline, '--', 'bash', '-c', 'echo READY'], {
      json: false,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /^prefork-check: Cannot write the report .*prefork-check\.baseline\.json: it is the baseline\./,
    );
    expect(treeState(dir)).toEqual(before);
  });

  test.each([
    [
      '--json naming the config',
      { 'prefork-check.config.json': { command: ['true'] } },
      ['--json', 'prefork-check.config.json'],
    ],
    [
      'the config’s own reporters.junit naming it',
      { 'prefork-check.config.json': { command: ['true'], reporters: { junit: 'prefork-check.config.json' } } },
      [],
    ],
    [
      '--junit naming the package.json that holds the config',
      { 'package.json': { name: 'app', 'prefork-check': { command: ['true'] } } },
      ['--junit', 'package.json'],
    ],
  ])('a report over the config it was read from is refused: %s', async (_, files, args) => {
    const dir = project(files);
    const before = treeState(dir);
    const run = await runCli(args, { cwd: dir, json: false });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^prefork-check: Cannot write the report .*: it is the config this run read\./);
    expect(treeState(dir)).toEqual(before);
  });

  test('merge-reports never writes over one of the reports it merges', async () => {
    const dir = scratch();
    const shard = join(dir, 'shard-1.json');
    expect((await runCli(['--json', shard, '--', 'bash', '-c', 'echo READY'], { json: false })).exitCode).toBe(0);
    const before = treeState(dir);
    const run = await runCli(['merge-reports', join(dir, 'shard-*.json'), '--json', shard], { json: false });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Cannot write the report .*shard-1\.json: it is a report being merged\./);
    expect(treeState(dir)).toEqual(before);
  });

  test('a check that times out reports what was open with its close-on-exec bit and flags', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--timeout',
      '2',
      '--',
      'python3',
      '-c',
      'import time\nkept = open("/etc/hostname")\nprint("starting", flush=True)\ntime.sleep(30)',
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('TIMEOUT');
    expect(run.report!.leaks.map(({ fd, target, flags, cloexec }) => ({ fd, target, flags, cloexec }))).toEqual([
      { fd: 3, target: '/etc/hostname', flags: ['O_RDONLY'], cloexec: true },
    ]);
  });
});

describe('names and paths from the app or the config never act on a terminal or on CI', () => {
  test('a check name with a newline and a workflow command, a file name with ESC, backticks and HTML', async () => {
    const forged = 'web\n::error file=x.py,line=1::forged';
    const dir = project({
      'prefork-check.config.json': {
        checks: [
          {
            name: forged,
            command: [
              'python3',
              '-c',
              "import os, time; f = open(os.environ['FIXTURE_SCRATCH'] + '/a`<img src=x>`\\x1b[2J.log', 'w'); print('READY'); time.sleep(30)",
            ],
            forkMarker: 'READY',
          },
        ],
      },
    });
    const summary = join(dir, 'summary.md');
    const run = await runCli(['--junit', join(dir, 'junit.xml')], {
      cwd: dir,
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(run.exitCode, run.stderr).toBe(1);
    const output = `${run.stdout}\n${run.stderr}`;
    // The one annotation is ours, for the leak; no line runs the forged command.
    expect(output.split('\n').filter((line) => line.trimStart().startsWith('::'))).toEqual([
      expect.stringMatching(/^::error title=prefork-check%3A file left open at the fork point::fd 3 /),
    ]);
    expect(output).toContain('web\\n::error file=x.py');
    // No ESC reaches the terminal but our own colours (none here: NO_COLOR).
    expect(output).not.toContain('\x1b');
    expect(output).toContain('\\x1b[2J.log');
    const markdown = readFileSync(summary, 'utf8');
    // Every backtick and `<` from the path is escaped: no code span ends early, no raw HTML starts.
    expect(markdown).not.toMatch(/(^|[^\\])(`|<img)/m);
    expect(markdown).toContain('\\<img src\\=x\\>');
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).not.toContain('\x1b');
  });
});
