import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll } from 'vitest';
import type { JsonReport as Report, JsonRunResult as RunResult } from '../../src/reporters/json.js';
import { readKernelViewFile, type KernelView } from './kernel-view.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.js');
export const fixture = (name: string, file = 'app.py') => join(ROOT, 'fixtures', name, file);

const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory per run: fixture files, the JSON report and the kernel view land here. */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prefork-check-test-'));
  scratchDirs.push(dir);
  return dir;
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The first check's report, from the JSON run result. */
  report?: Report;
  result?: RunResult;
  kernel?: KernelView;
  scratch: string;
}

/** Runs the real CLI (dist/cli.js) under the real strace, with a JSON report. */
export async function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    json?: boolean;
    cwd?: string;
    before?: (scratch: string) => void;
    /** ms before the CLI is killed: 60 s, unless a check is given a longer --timeout. */
    timeout?: number;
  } = {},
): Promise<CliRun> {
  const dir = scratch();
  options.before?.(dir);
  const json = join(dir, 'report.json');
  const kernelView = join(dir, 'kernel-view.json');
  const result = await execa('node', [CLI, ...(options.json === false ? [] : ['--json', json]), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { FIXTURE_SCRATCH: dir, PREFORK_CHECK_KERNEL_VIEW: kernelView, NO_COLOR: '1', ...options.env },
    reject: false,
    stdin: 'ignore',
    timeout: options.timeout ?? 60_000,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    ...runFiles(dir),
    scratch: dir,
  };
}

/** What a CLI run left in its scratch dir: its JSON run result (report.json) and the app's kernel view. */
export function runFiles(dir: string): Pick<CliRun, 'result' | 'report' | 'kernel'> {
  const json = join(dir, 'report.json');
  const kernelView = join(dir, 'kernel-view.json');
  const result = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as RunResult) : undefined;
  return {
    ...(result ? { result, report: result.checks[0] } : {}),
    ...(existsSync(kernelView) ? { kernel: readKernelViewFile(kernelView) } : {}),
  };
}

/** The counted leaks as sorted `kind target` lines. */
export function leakLines(report: Report): string[] {
  return report.leaks
    .filter((leak) => !leak.allowed)
    .map((leak) => `${leak.kind} ${leak.target}`)
    .sort();
}
