import { mkdirSync, readFileSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { childVitestEnv } from './helpers/processes.js';
import { ROOT, scratch } from './helpers/run-cli.js';

const EXAMPLE = join(ROOT, 'examples/vitest');

/** What `npm install` does for the example's `file:../..` dependency, without a second copy of Vitest. */
function linkPackage(): void {
  const link = join(EXAMPLE, 'node_modules/prefork-check');
  if (existsSync(link)) return;
  mkdirSync(join(EXAMPLE, 'node_modules'), { recursive: true });
  symlinkSync('../../..', link);
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ title: string; status: string; failureMessages: string[] }> }>;
}

describe('examples/vitest, run by a child Vitest', () => {
  test('one check per config entry: api passes, reports fails naming its leak and line, in the JSON and JUnit reporters', async () => {
    linkPackage();
    const dir = scratch();
    const env = childVitestEnv();
    const run = await execa(
      join(ROOT, 'node_modules/.bin/vitest'),
      [
        'run',
        '--reporter=json',
        `--outputFile.json=${dir}/results.json`,
        '--reporter=junit',
        `--outputFile.junit=${dir}/junit.xml`,
      ],
      {
        cwd: EXAMPLE,
        env: { ...env, NO_COLOR: '1' },
        extendEnv: false,
        reject: false,
      },
    );
    expect(run.exitCode, run.stderr).toBe(1);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as VitestJson;
    const byTitle = Object.fromEntries(
      results.testResults.flatMap((file) => file.assertionResults).map((result) => [result.title, result]),
    );
    expect(Object.fromEntries(Object.entries(byTitle).map(([title, result]) => [title, result.status]))).toEqual({
      'no fds leaked at the fork point: api': 'passed',
      'no fds leaked at the fork point: reports': 'failed',
      'api holds nothing when started with another marker': 'passed',
    });
    const failure = byTitle['no fds leaked at the fork point: reports']!.failureMessages.join('\n');
    expect(failure).toMatch(
      /Expected nothing open at the fork point of "reports" beyond stdio, found 1 fd:\n {2}fd 3 file .*reports-audit\.log\n {6}made at apps\/reports\.py:5 in <module>/,
    );
    // The failure's stack points at the app's line, so editors and the UI open it.
    expect(failure).toMatch(/at <module> \(.*examples\/vitest\/apps\/reports\.py:5:1\)/);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(
      /<testcase classname="test\/fork\.test\.ts" name="no fds leaked at the fork point: reports"[^>]*>\s*<failure message="Expected nothing open at the fork point of &quot;reports&quot;/,
    );
  });
});

describe('forkChecks', () => {
  test('a check per file a glob finds, with the given settings over the config defaults', async () => {
    const { project } = await import('./helpers/project.js');
    const { forkChecks } = await import('../src/vitest/define-fork-checks.js');
    const dir = project({
      'services/billing/app.py': 'print("READY")\n',
      'services/search/app.py': 'print("READY")\n',
      'services/search/helpers.py': '',
      'prefork-check.config.json': { timeout: 5, allow: ['/var/log/**'] },
    });
    const found = forkChecks({ root: dir, entries: 'services/*/app.py', check: { forkMarker: 'READY' } });
    expect(
      found.checks.map((check) => [check.name, check.entry, check.forkMarker, check.timeout, check.allow]),
    ).toEqual([
      ['services/billing/app.py', join(dir, 'services/billing/app.py'), 'READY', 5, ['/var/log/**']],
      ['services/search/app.py', join(dir, 'services/search/app.py'), 'READY', 5, ['/var/log/**']],
    ]);
    expect(found.baselineFile).toBeUndefined();
  });
});

describe('defineForkChecks when there is nothing to run', () => {
  /** A child Vitest in a scratch project whose one test file calls defineForkChecks(). */
  async function childVitest(files: Record<string, string>) {
    const dir = scratch();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(
      join(dir, 'fork.test.mjs'),
      `import { defineForkChecks } from ${JSON.stringify(join(ROOT, 'dist/vitest/index.js'))};\ndefineForkChecks();\n`,
    );
    const env = childVitestEnv();
    await execa(
      join(ROOT, 'node_modules/.bin/vitest'),
      ['run', '--reporter=json', `--outputFile.json=${dir}/results.json`],
      {
        cwd: dir,
        env: { ...env, NO_COLOR: '1' },
        extendEnv: false,
        reject: false,
      },
    );
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as VitestJson;
    return { dir, results: results.testResults.flatMap((file) => file.assertionResults) };
  }

  test('a broken config: one failing test with the config’s message, no stack of ours', async () => {
    const { results } = await childVitest({ 'prefork-check.config.json': '{ "timout": 5 }' });
    expect(results.map((result) => [result.title, result.status])).toEqual([['prefork-check: fork checks', 'failed']]);
    const message = results[0]!.failureMessages.join('\n');
    expect(message).toMatch(/timout: unknown key, did you mean "timeout"\?/);
    expect(message).not.toMatch(/\n\s+at .*dist\//);
  });

  test('no config file: says none was found and where it looked', async () => {
    const { dir, results } = await childVitest({});
    expect(results[0]!.failureMessages.join('\n')).toContain(
      `no prefork-check.config.json (nor a "prefork-check" field in package.json) was found in ${dir} or above it`,
    );
  });
});
