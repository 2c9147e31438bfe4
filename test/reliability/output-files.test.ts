import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { processesWithEnv, settle } from '../helpers/processes.js';
import { CLI, runCli, scratch } from '../helpers/run-cli.js';
import { treeState } from '../helpers/tree-state.js';

/** A check of a one-leak bash app, named by what it leaks. */
const leaky = (file: string) => [
  '--fork-marker',
  'READY',
  '--',
  'bash',
  '-c',
  `exec 7<'${file}'; echo READY; sleep 30`,
];

describe('output files are the user’s: never replaced when they are not regular files', () => {
  const root = process.getuid?.() === 0;

  test.runIf(root)(
    'a device node, a fifo or a directory as a report is exit 2 with one line, and stays what it was',
    async () => {
      const dir = scratch();
      const device = join(dir, 'null');
      execFileSync('mknod', [device, 'c', '1', '3']);
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const link = join(dir, 'to-device');
      symlinkSync(device, link);
      const before = treeState(dir);
      for (const [flag, target, word] of [
        ['--json', device, 'a device'],
        ['--junit', fifo, 'a fifo'],
        ['--json', dir, 'a directory'],
        ['--junit', link, 'a device'],
        ['--trace-out', dir, 'a directory'],
      ] as const) {
        const run = await runCli([flag, target, ...leaky('/etc/hostname')], { json: false });
        expect(run.exitCode, run.stdout).toBe(2);
        expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(`it is ${word}`)]);
      }
      expect(treeState(dir)).toEqual(before);
      expect(statSync(device).isCharacterDevice()).toBe(true);
      expect(statSync(fifo).isFIFO()).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    },
  );

  test('report directories that do not exist yet are made (the config example’s reports/)', async () => {
    const dir = scratch();
    const run = await runCli([
      '--junit',
      join(dir, 'reports', 'ci', 'junit.xml'),
      '--trace-out',
      join(dir, 'traces', 'app.trace'),
      ...leaky('/etc/hostname'),
    ]);
    expect(run.exitCode, run.stderr).toBe(1);
    expect(readFileSync(join(dir, 'reports', 'ci', 'junit.xml'), 'utf8')).toMatch(/<testsuites/);
    expect(readFileSync(join(dir, 'traces', 'app.trace'), 'latin1')).toMatch(/execve\(/);
  });

  test('a report path that is a symlink is written at its target, and stays a symlink', async () => {
    const dir = scratch();
    const real = join(dir, 'reports', 'real.json');
    mkdirSync(join(dir, 'reports'));
    writeFileSync(real, 'old');
    const link = join(dir, 'out.json');
    symlinkSync(real, link);
    const before = treeState(dir, [real]);
    const run = await runCli(['--json', link, ...leaky('/etc/hostname')], { json: false });
    expect(treeState(dir, [real])).toEqual(before);
    expect(run.exitCode).toBe(1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(JSON.parse(readFileSync(real, 'utf8')).exitCode).toBe(1);
  });

  test('eight runs updating one baseline at once lose no entry; a symlinked baseline is updated at its target', async () => {
    const dir = scratch();
    const real = join(dir, 'real-baseline.json');
    const baseline = join(dir, 'prefork-check.baseline.json');
    symlinkSync(real, baseline);
    const files = Array.from({ length: 8 }, (_, i) => join(dir, `leak-${i}.txt`));
    for (const file of files) writeFileSync(file, '');
    const before = treeState(dir, [real]);
    const runs = await Promise.all(
      files.map((file) => runCli(['--baseline', baseline, '--update-baseline', ...leaky(file)], { json: false })),
    );
    for (const run of runs) expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(treeState(dir, [real])).toEqual(before);
    expect(lstatSync(baseline).isSymbolicLink()).toBe(true);
    const entries = (JSON.parse(readFileSync(real, 'utf8')) as { entries: Array<{ target: string }> }).entries;
    expect(entries.map((entry) => entry.target).sort()).toEqual(files.map((_, i) => `<tmp>/*/leak-${i}.txt`).sort());
  }, 120_000);
});

describe('paths that lead to an open descriptor', () => {
  test('/dev/stdout is stdout: the file stdout is redirected to gets the JSON and is not replaced', async () => {
    const dir = scratch();
    const out = join(dir, 'out.log');
    writeFileSync(out, '');
    const inode = statSync(out).ino;
    const run = await execa('node', [CLI, '--json', '/dev/stdout', ...leaky('/etc/hostname')], {
      reject: false,
      stdin: 'ignore',
      stdout: { file: out },
    });
    expect(run.exitCode).toBe(1);
    expect(statSync(out).ino).toBe(inode);
    expect(JSON.parse(readFileSync(out, 'utf8')).exitCode).toBe(1);
  });

  test('/dev/stderr or /dev/fd/N is refused up front, naming the descriptor, and its file is left alone', async () => {
    const dir = scratch();
    const err = join(dir, 'err.log');
    writeFileSync(err, 'kept\n');
    const inode = statSync(err).ino;
    const run = await execa('node', [CLI, '--junit', '/dev/stderr', ...leaky('/etc/hostname')], {
      reject: false,
      stdin: 'ignore',
      stderr: { file: err, append: true },
    });
    expect(run.exitCode).toBe(2);
    expect(statSync(err).ino).toBe(inode);
    expect(readFileSync(err, 'utf8')).toMatch(
      /^kept\nprefork-check: Cannot write the report \/dev\/stderr: it is an open file descriptor \(\/proc\/\d+\/fd\/2\); give the path of a file, or - for stdout\.\n$/,
    );
  });
});

describe('a symlink planted where a temp file might go is never followed', () => {
  test('the old predictable temp name (<report>.<pid>.tmp) pointing at a victim: the victim is untouched', async () => {
    const dir = scratch();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    const out = join(dir, 'out.json');
    const before = treeState(dir);
    // exec keeps the pid, so the planted name is the one a pid-named temp file would take.
    const script = `ln -s '${victim}' '${out}'.$$.tmp; exec node '${CLI}' --json '${out}' "$@"`;
    const cli = execa('bash', ['-c', script, 'bash', ...leaky('/etc/hostname')], { reject: false, stdin: 'ignore' });
    const run = await cli;
    expect(run.exitCode).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    // The planted link is the run's to leave alone too; only out.json is new.
    expect(treeState(dir, [out])).toEqual({ ...before, [`out.json.${cli.pid}.tmp`]: `symlink -> ${victim}` });
    expect(lstatSync(out).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(out, 'utf8')).exitCode).toBe(1);
  });
});

describe('a signal during checks in parallel', () => {
  test('SIGINT while eight checks run: exit 130, each check an interrupted report in the JSON, nothing left running', async () => {
    const dir = scratch();
    const config = {
      checks: Array.from({ length: 8 }, (_, i) => ({
        name: `c${i}`,
        command: ['bash', '-c', `exec 7</etc/hostname; sleep 30; echo READY`],
        forkMarker: 'READY',
      })),
      concurrency: 8,
    };
    writeFileSync(join(dir, 'prefork-check.config.json'), JSON.stringify(config));
    const json = join(dir, 'run.json');
    const before = treeState(dir);
    const cli = execa('node', [CLI, '--json', json], {
      cwd: dir,
      reject: false,
      stdin: 'ignore',
      env: { PREFORK_CHECK_SIGNAL_TEST: dir, TMPDIR: dir },
    });
    const deadline = Date.now() + 15_000;
    while (processesWithEnv('PREFORK_CHECK_SIGNAL_TEST', dir).filter(isSleep).length < 8 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    cli.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toBe('');
    expect(treeState(dir, [json])).toEqual(before);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { checks: Array<{ error?: { code: string } }> };
    expect(report.checks.map((check) => check.error?.code)).toEqual(Array(8).fill('INTERRUPTED'));
    expect(await settle(() => processesWithEnv('PREFORK_CHECK_SIGNAL_TEST', dir))).toEqual([]);
  }, 60_000);
});

function isSleep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
  } catch {
    return false;
  }
}
