import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { declaredOrigins } from '../helpers/origins.js';
import { CLI, ROOT, fixture, scratch } from '../helpers/run-cli.js';

/** Runs the CLI and samples its peak resident memory (VmHWM) while it runs. */
async function measured(args: string[], env: Record<string, string>, nodeOptions: string[] = []) {
  const dir = scratch();
  const json = `${dir}/report.json`;
  const cli = execa('node', [...nodeOptions, CLI, '-q', '--json', json, ...args], {
    cwd: ROOT,
    env: { FIXTURE_SCRATCH: dir, ...env },
    reject: false,
    stdin: 'ignore',
  });
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${cli.pid}/status`, 'latin1'))?.[1] ?? peakKb);
    } catch {
      // Exited between samples.
    }
  }, 100);
  const result = await cli;
  clearInterval(sampler);
  return { result, peakMb: peakKb / 1024, report: JSON.parse(readFileSync(json, 'utf8')) };
}

// The checker's memory does not grow with the trace: its heap is capped at 64 MB here (V8 would
// stop it if what it kept grew with the lines), and its resident size stays within the benchmark's.
const HEAP_CAP = '--max-old-space-size=64';
const RSS_BOUND_MB = 128;

describe('scale', () => {
  test('10,000 leaked fds are all reported, each with its target and origin', async () => {
    const { result, report } = await measured(['--entry', fixture('many-fds'), '--fork-marker', 'READY'], {});
    expect(result.exitCode).toBe(1);
    const leaks = report.checks[0].leaks as Array<{ fd: number; target: string; origin: { line: number } | null }>;
    expect(leaks).toHaveLength(10_000);
    expect(new Set(leaks.map((leak) => leak.target)).size).toBe(10_000);
    const [declared] = declaredOrigins(fixture('many-fds'));
    expect(leaks.every((leak) => declared!.startsWith(`fixtures/many-fds/app.py:${leak.origin?.line} `))).toBe(true);
  }, 300_000);

  // Every check is the full trace: it models all 2,000,000 syscalls.
  test('1,000,000 opens and closes before the fork point: clean, within the memory bound', async () => {
    const script =
      'import os\nfor _ in range(1_000_000):\n    os.close(os.open("/dev/null", os.O_RDONLY))\nprint("READY", flush=True)';
    const { result, peakMb } = await measured(
      ['--fork-marker', 'READY', '--timeout', '800', '--', 'python3', '-c', script],
      {},
      [HEAP_CAP],
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    console.log(`1,000,000 opens: checker peak RSS ${peakMb.toFixed(0)} MB`);
    expect(peakMb).toBeGreaterThan(0);
    expect(peakMb).toBeLessThan(RSS_BOUND_MB);
  }, 900_000);

  // Hand-ordered (reversed), so the rewrite differs from it on nearly every line.
  test('an update of a 200,000-entry baseline shows the one new entry, in under a gigabyte', async () => {
    const dir = scratch();
    const baseline = `${dir}/baseline.json`;
    const entries = Array.from({ length: 200_000 }, (_, i) => ({
      check: `other-${String(199_999 - i).padStart(6, '0')}`,
      kind: 'file',
      target: `<project>/f${i}.log`,
      site: ['app.py:<module>'],
      count: 1,
      note: '',
    }));
    writeFileSync(baseline, JSON.stringify({ version: 1, entries }, null, 2));
    const { result, report, peakMb } = await measured(
      [
        '--baseline',
        baseline,
        '--update-baseline',
        '--fork-marker',
        'READY',
        '--',
        'bash',
        '-c',
        'exec 7</etc/hostname; echo READY; sleep 30',
      ],
      {},
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(report.baseline.diff.split('\n')[2]).toBe('@@ 0 removed, 1 added; 200000 entries before, 200001 after @@');
    expect(JSON.parse(readFileSync(baseline, 'utf8')).entries).toHaveLength(200_001);
    // A line diff of the two files peaked at 2.1 GB here.
    expect(peakMb).toBeLessThan(1024);
  }, 120_000);
});
