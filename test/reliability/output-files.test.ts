import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, scratch } from '../helpers/run-cli.js';

/** A check of a one-leak bash app, named by what it leaks. */
const leaky = (file: string) => ['--fork-marker', 'READY', '--', 'bash', '-c', `exec 7<'${file}'; echo READY; sleep 30`];

describe('output files are the user’s: never replaced when they are not regular files', () => {
  const root = process.getuid?.() === 0;

  test.runIf(root)('a device node, a fifo or a directory as a report is exit 2 with one line, and stays what it was', async () => {
    const dir = scratch();
    const device = join(dir, 'null');
    execFileSync('mknod', [device, 'c', '1', '3']);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'to-device');
    symlinkSync(device, link);
    for (const [flag, target, word] of [['--json', device, 'a device'], ['--junit', fifo, 'a fifo'], ['--json', dir, 'a directory'], ['--junit', link, 'a device'], ['--trace-out', dir, 'a directory']] as const) {
      const run = await runCli([flag, target, ...leaky('/etc/hostname')], { json: false });
      expect(run.exitCode, run.stdout).toBe(2);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(`it is ${word}`)]);
    }
    expect(statSync(device).isCharacterDevice()).toBe(true);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test('a report path that is a symlink is written at its target, and stays a symlink', async () => {
    const dir = scratch();
    const real = join(dir, 'reports', 'real.json');
    mkdirSync(join(dir, 'reports'));
    writeFileSync(real, 'old');
    const link = join(dir, 'out.json');
    symlinkSync(real, link);
    const run = await runCli(['--json', link, ...leaky('/etc/hostname')], { json: false });
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
    const runs = await Promise.all(files.map((file) => runCli(['--baseline', baseline, '--update-baseline', ...leaky(file)], { json: false })));
    for (const run of runs) expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(lstatSync(baseline).isSymbolicLink()).toBe(true);
    const entries = (JSON.parse(readFileSync(real, 'utf8')) as { entries: Array<{ target: string }> }).entries;
    expect(entries.map((entry) => entry.target).sort()).toEqual(files.map((_, i) => `<tmp>/*/leak-${i}.txt`).sort());
  }, 120_000);
});
