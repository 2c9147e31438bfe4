import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { useColor } from '../src/cli/main.js';
import type { RunResult } from '../src/report/types.js';
import { fixture, leakLines, ROOT, runCli, scratch } from './helpers/run-cli.js';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function expectCleanError(run: { exitCode: number; stderr: string }, pattern: RegExp): void {
  expect(run.exitCode).toBe(2);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('usage', () => {
  test('--help and --version', async () => {
    const help = await runCli(['--help'], { json: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--fork-marker <text>');
    const shown = await runCli(['--version'], { json: false });
    expect(shown.stdout.trim()).toBe(version);
  });

  test.concurrent.each([
    { args: ['--frobnicate'], error: /Unknown option '--frobnicate'/ },
    { args: ['--entry', 'fixtures/nope/app.py'], error: /entry file fixtures\/nope\/app.py does not exist/ },
    { args: ['--', 'no-such-command-here'], error: /`no-such-command-here` was not found on PATH/ },
    {
      args: ['--timeout', 'soon', '--', 'true'],
      error: /Expected `--timeout` to be a number of seconds from 0\.001 to 2147483 \(24\.8 days\), got `soon`/,
    },
    { args: ['--fork-marker', '', '--', 'true'], error: /Expected `fork-marker` to be a non-empty text/ },
    { args: ['--fork-marker', 'X', '--fork-at-first-fork', '--', 'true'], error: /not both/ },
    { args: [], error: /Nothing to check/ },
    { args: ['gunicorn', 'app:app'], error: /Put the app's command after `--`/ },
    { args: ['--tracer', 'strace', '--strace', '/nonexistent/strace', '--', 'true'], error: /apt-get install strace/ },
    {
      args: ['--tracer', 'ptrace', '--', 'true'],
      error: /Expected `tracer` to be one of auto, strace, native, got `ptrace`/,
    },
    {
      args: ['--tracer', 'native', '--native-stacks', '--', 'true'],
      error: /`nativeStacks` \(--native-stacks\) unwinds with strace -k: use it with the strace tracer/,
    },
  ])('bad input $args is exit 2 with one clear line', async ({ args, error }) => {
    const run = await runCli(args, { json: false });
    expectCleanError(run, error);
  });

  test('an unwritable report path fails before the app runs and writes nothing', async () => {
    const dir = scratch();
    // A file where its directory should be: not a directory, and not made into one.
    writeFileSync(join(dir, 'blocker'), '');
    const report = join(dir, 'blocker', 'report.json');
    const run = await runCli(['--json', report, '--', 'bash', '-c', 'touch "$FIXTURE_SCRATCH/ran"'], {
      json: false,
      env: { FIXTURE_SCRATCH: dir },
    });
    expectCleanError(run, /Cannot write the report/);
    expect(existsSync(report)).toBe(false);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});

describe('colour follows the common conventions', () => {
  test('NO_COLOR set and not empty turns it off; FORCE_COLOR turns it on, unless 0 or false; else a terminal decides', () => {
    expect(useColor({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ NO_COLOR: '' }, true)).toBe(true);
    expect(useColor({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: 'false' }, true)).toBe(false);
    expect(useColor({}, true)).toBe(true);
    expect(useColor({ TERM: 'dumb' }, true)).toBe(false);
    expect(useColor({}, false)).toBe(false);
  });
});

describe('another fd on the app’s own stdio', () => {
  test('is shown, allowed as a duplicate of it (workers share fds 0-2 anyway), and is the kernel’s', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--',
      'bash',
      '-c',
      'exec 5>&1 6<&0 7>&2; echo READY; sleep 30',
    ]);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.report!.leaks.map((leak) => [leak.fd, leak.stdio, leak.allowed])).toEqual([
      [5, 'stdout', true],
      [6, 'stdin', true],
      [7, 'stderr', true],
    ]);
    expect(run.report!.leaks[0]!.allowedBy).toBe("a duplicate of the app's stdout, which workers share anyway");
    expect(run.report!.leaks.map((leak) => leak.excuse)).toEqual(
      ['stdout', 'stdin', 'stderr'].map((label) => ({ type: 'stdio', label })),
    );
  });
});

describe('fork point: exit of the started process', () => {
  test('an fd held at exit is a leak; a clean exit passes', async () => {
    const leaky = await runCli(['--', 'bash', '-c', 'exec 7</etc/hostname']);
    expect(leaky.exitCode).toBe(1);
    expect(leakLines(leaky.report!)).toEqual(['file /etc/hostname']);
    expect(leaky.report!.leaks[0]!.fd).toBe(7);
    expect(leaky.report!.forkPoint.description).toMatch(/^exit of pid \d+ \(bash\) with status 0$/);

    const clean = await runCli(['--', 'true']);
    expect(clean.exitCode).toBe(0);
    expect(clean.report!.status).toBe('pass');
  });

  test('a failing exit status is an error, not a pass', async () => {
    const run = await runCli(['--', 'bash', '-c', 'exit 3']);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('APP_FAILED');
  });
});

// Two CPUs or more, and taskset (util-linux) to move processes between them.
const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-p', String(process.pid)]).status === 0;

describe('CPUs', () => {
  test.runIf(canPin)('the traced app runs on a CPU of its own, and the CLI on the others', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('cpus')]);
    expect(run.exitCode, run.stderr).toBe(0);
    const [, app, checker] = /app (\S+) checker (\S+)/.exec(run.stdout)!;
    expect(app).toMatch(/^\d+$/);
    const expand = (list: string) =>
      list.split(',').flatMap((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
      });
    expect(expand(checker!)).not.toContain(Number(app));
  });
});

describe('the README examples', () => {
  test('bash opening fd 7 then printing the marker', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'bash', '-c', 'exec 7</etc/hostname; echo READY']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.leaks.map(({ fd, kind, target, cloexec }) => ({ fd, kind, target, cloexec }))).toEqual([
      { fd: 7, kind: 'file', target: '/etc/hostname', cloexec: false },
    ]);
    expect(run.stdout).toMatch(/fd 7 +file +\/etc\/hostname/);
    expect(run.stdout).toMatch(/made by +pid \d+ \(bash\), openat\(\)/);
    expect(run.stdout).toMatch(/^FAIL +1 fd open at the fork point \(1 file\)$/m);
  });

  test('the leaky example app', async () => {
    const run = await runCli(['--entry', 'fixtures/leaky/app.py', '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/app.log`]);
    expect(run.report!.leaks[0]!.flags).toContain('O_APPEND');
    expect(run.report!.leaks[0]!.cloexec).toBe(true);
    expect(run.report!.leaks[0]!.origin).toMatchObject({
      file: 'fixtures/leaky/app.py',
      line: 8,
      function: '<module>',
    });
  });
});

describe('errors before the fork point', () => {
  test('an app that crashes before the marker: exit 2 and a partial report', async () => {
    const run = await runCli(['--entry', fixture('crash'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(2);
    expect(run.report!.status).toBe('error');
    expect(run.report!.error!.code).toBe('APP_EXITED_BEFORE_FORK_POINT');
    expect(run.report!.error!.message).toContain('exited with status 1');
    expect(run.report!.forkPoint.reached).toBe(false);
  });

  test('an app that ends before the marker: the message says whether it held anything', async () => {
    const clean = await runCli(['--fork-marker', 'NEVER', '--', 'true']);
    expect(clean.report!.error!.message).toMatch(
      /before the fork point \(marker "NEVER"\)\. It held nothing beyond stdio when it ended\.$/,
    );
    const holding = await runCli(['--fork-marker', 'NEVER', '--', 'bash', '-c', 'exec 7</etc/hostname; exit 0']);
    expect(holding.report!.error!.message).toMatch(/\. The fds listed are what it held when it ended\.$/);
    expect(holding.report!.leaks.map((leak) => leak.target)).toEqual(['/etc/hostname']);
  });

  test('a timeout stops the whole tree and reports what was open', async () => {
    const script =
      'import subprocess, time; f = open("/etc/hostname"); child = subprocess.Popen(["sleep", "61"]); time.sleep(60)';
    const run = await runCli(['--timeout', '4', '--fork-marker', 'NEVER', '--', 'python3', '-c', script]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('TIMEOUT');
    expect(run.report!.table.map((record) => record.target)).toContain('/etc/hostname');
    expect(isAlive(run.report!.forkPoint.pid!)).toBe(false);
    // The sleeping child is gone too.
    const sleepers = readdirSync('/proc').filter(
      (pid) => /^\d+$/.test(pid) && isAlive(Number(pid)) && cmdline(pid) === 'sleep\x0061\x00',
    );
    expect(sleepers).toEqual([]);
  });
});

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

/** Alive = has a /proc entry and is not a zombie waiting for init to reap it. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

describe('a report on stdout (`-`)', () => {
  test('--json - writes only the JSON report to stdout; the app and the console report go to stderr', async () => {
    const run = await runCli(['--json', '-', '--entry', fixture('leaky'), '--fork-marker', 'READY'], { json: false });
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as RunResult;
    expect(leakLines(result.checks[0]!)).toEqual([`file ${run.scratch}/app.log`]);
    expect(run.stderr).toMatch(/^READY\n─+ end of the app's output ─+\n/);
    expect(run.stderr).toMatch(/FAIL {2}1 fd open at the fork point/);
    expect(existsSync(join(ROOT, '-'))).toBe(false);
  });

  test('--junit - writes the XML to stdout; both on stdout is an error before the app runs', async () => {
    const junit = await runCli(['--junit', '-', '--entry', fixture('leaky'), '--fork-marker', 'READY'], {
      json: false,
    });
    expect(junit.stdout).toMatch(/^<\?xml[^]*<\/testsuites>\s*$/);
    const both = await runCli(['--json', '-', '--junit', '-', '--entry', fixture('leaky'), '--fork-marker', 'READY'], {
      json: false,
    });
    expectCleanError(both, /Only one report can be written to stdout/);
    expect(both.stdout).toBe('');
  });
});

describe('the check fields table', () => {
  test('every field with a flag is set by it for every check, and shown in --help with its line', async () => {
    const { parseCli } = await import('../src/cli/args.js');
    const { CHECK_FIELDS, FLAG_KEYS, helpLine } = await import('../src/options/check-fields.js');
    const { HELP } = await import('../src/cli/help.js');
    const sample = { text: 'x', seconds: '5', rules: 'a/**', preset: 'gunicorn', tracer: 'native' } as Record<
      string,
      string
    >;
    expect(FLAG_KEYS).toEqual(expect.arrayContaining(['timeout', 'deep', 'strace', 'traceOut']));
    for (const key of FLAG_KEYS) {
      const { flag, type } = CHECK_FIELDS[key];
      if (!flag) continue;
      const args = flag.value === undefined ? [`--${flag.name}`] : [`--${flag.name}`, sample[type]!];
      const expected = { on: true, off: false, seconds: 5, rules: ['a/**'] }[type as string] ?? sample[type];
      expect(parseCli([...args, '--', 'true']).overrides, key).toEqual({ [key]: expected });
      expect(HELP, key).toContain(helpLine(key));
    }
  });
});

describe('subcommand help', () => {
  test('watch --help and merge-reports --help show their own usage, exit 0', async () => {
    const watch = await runCli(['watch', '--help'], { json: false });
    expect(watch.exitCode).toBe(0);
    expect(watch.stdout).toMatch(/^Usage:\n {2}prefork-check watch \[options\] -- <server>/);
    expect(watch.stdout).toContain('--max-growth <n>');
    const merge = await runCli(['merge-reports', '--help'], { json: false });
    expect(merge.exitCode).toBe(0);
    expect(merge.stdout).toMatch(/^Usage:\n {2}prefork-check merge-reports <json\.\.\.>/);
  });
});

describe('a live status line on a terminal', () => {
  const ESC = String.fromCharCode(0x1b);
  test('under a terminal: what it waits for and for how long, cleared before the app speaks and before the report', async () => {
    // READY comes after the ticks at 1 s and 1.25 s (a timer may fire a millisecond early, still at 0 s).
    const cli = `node ${join(ROOT, 'dist/cli.js')} --fork-marker READY -- bash -c 'sleep 1.7; echo READY; sleep 5'`;
    // script(1) runs the CLI on a pseudo-terminal, as a person at a terminal would.
    const run = await execa('script', ['-qfec', cli, '/dev/null'], { reject: false, env: { NO_COLOR: '1' } });
    const status = 'prefork-check: waiting for the marker "READY" · 1 s';
    expect(run.stdout).toContain(`\r\x1b[2K${status}`);
    // Each time, cleared first: the app's READY and the report start on a clean line.
    expect(run.stdout).toContain('\r\x1b[2KREADY');
    expect(run.stdout).toMatch(new RegExp(`(\r${ESC}\\[2K|\n)─+ end of the app's output`));
    expect(run.stdout).not.toMatch(/s · [^\r\n]*─+ end of the app's output/);
  });

  test('not a terminal: no status line', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'bash', '-c', 'sleep 0.6; echo READY; sleep 5']);
    expect(run.stdout + run.stderr).not.toContain('\x1b[2K');
  });
});

describe('allowed fds in the console', () => {
  test('one line each, what allowed it included; in full under --verbose', async () => {
    const args = ['--allow', '**/app.log', '--entry', fixture('leaky'), '--fork-marker', 'READY'];
    const plain = await runCli(args);
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/^ {2}fd 3 +file +\S+\/app\.log {2}\(allowed by glob \*\*\/app\.log\)$/m);
    expect(plain.stdout).not.toMatch(/ {10}origin {4}fixtures\/leaky\/app\.py/);
    const verbose = await runCli(['--verbose', ...args]);
    expect(verbose.stdout).toMatch(/ {10}origin {4}fixtures\/leaky\/app\.py:\d+ in <module>/);
  });
});

describe('small things a user meets', () => {
  test('-q prints the verdict line only: not the app’s output, not the rule after it', async () => {
    const run = await runCli(['-q', '--entry', fixture('leaky'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe(`FAIL  ${fixture('leaky')}: 1 fd open at the fork point (1 file)`);
  });

  test('a report path ending in / is an error before the app runs, and nothing is written', async () => {
    const dir = scratch();
    const run = await runCli(['--json', `${dir}/reports/`, '--entry', fixture('leaky'), '--fork-marker', 'READY'], {
      json: false,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/reports\/: it ends with "\/", which names a directory/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('--baseline naming a file that does not exist says so, and excuses nothing', async () => {
    const run = await runCli([
      '--baseline',
      'no-such-baseline.json',
      '--entry',
      fixture('leaky'),
      '--fork-marker',
      'READY',
    ]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^Baseline .*no-such-baseline\.json does not exist: no leak was excused by it/m);
    expect(run.result!.baseline).toMatchObject({ missing: true });
  });
});

describe('fds 0-2', () => {
  test('a log dup2’d over stdout and a closed stdin are said, with the line that made the file', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--',
      'python3',
      '-c',
      'import os, sys, time\nf = os.open(os.environ["FIXTURE_SCRATCH"] + "/out.log", os.O_WRONLY | os.O_CREAT)\nos.dup2(f, 1)\nos.close(f)\nos.close(0)\nsys.stderr.write("READY\\n")\ntime.sleep(30)',
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report!.forkPoint.notes).toEqual([
      'fd 0 (stdin) is closed',
      `fd 1 (stdout) is no longer the stdout it was started with: file ${run.scratch}/out.log, made by openat() at <string>:2`,
    ]);
  });
});
