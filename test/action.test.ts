import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ROOT, scratch } from './helpers/run-cli.js';

/** prefork-check's own tracer for this machine, as the build made it. */
const TRACER = join(ROOT, 'dist', 'native', `prefork-tracer-linux-${process.arch}`);

interface ActionYaml {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: {
    using: string;
    steps: Array<{
      id?: string;
      uses?: string;
      run?: string;
      if?: string;
      env?: Record<string, string>;
      with?: Record<string, string>;
    }>;
  };
}

const action = parse(readFileSync(join(ROOT, 'ci/action.yml'), 'utf8')) as ActionYaml;

/**
 * Runs ci/run.sh as the composite action's step does, with the workflow files Actions provides as
 * temp files. It runs this checkout (`version: source`) unless told which prefork-check to install.
 */
async function runStep(given: Record<string, string>, extraEnv: Record<string, string> = {}) {
  const inputs: Record<string, string> = { version: 'source', ...given };
  const dir = scratch();
  const files = { output: join(dir, 'output'), summary: join(dir, 'summary.md') };
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION_PATH: join(ROOT, 'ci'),
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: ROOT,
    RUNNER_TEMP: dir,
    FIXTURE_SCRATCH: dir,
    NO_COLOR: '1',
    ...extraEnv,
  };
  for (const [name, input] of Object.entries(action.inputs))
    env[`INPUT_${name.toUpperCase().replace(/-/g, '_')}`] = inputs[name] ?? input.default ?? '';
  const run = await execa('bash', [join(ROOT, 'ci/run.sh')], { cwd: ROOT, env, reject: false, stdin: 'ignore' });
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const outputs = Object.fromEntries(
    read(files.output)
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
  return { ...run, outputs, summary: read(files.summary), runnerTemp: dir };
}

describe('the GitHub Action (ci/action.yml)', () => {
  test('is a composite action whose every input reaches the script and every output comes from it', () => {
    expect(action.runs.using).toBe('composite');
    const check = action.runs.steps.find((step) => step.id === 'check')!;
    expect(check.run).toBe('bash "$GITHUB_ACTION_PATH/run.sh"');
    for (const name of Object.keys(action.inputs).filter(
      (input) => !['working-directory', 'upload-reports'].includes(input),
    )) {
      expect(check.env![`INPUT_${name.toUpperCase().replace(/-/g, '_')}`], name).toBe(`\${{ inputs.${name} }}`);
    }
    for (const [name, output] of Object.entries(action.outputs))
      expect(output.value).toBe(`\${{ steps.check.outputs.${name} }}`);
    const upload = action.runs.steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toMatch(/always\(\)/);
    expect(upload.with!.path).toMatch(/steps\.check\.outputs\.json-report/);
  });

  test('the example workflow uses only inputs the action has', () => {
    const workflow = parse(readFileSync(join(ROOT, 'ci/examples/pull-request.yml'), 'utf8')) as {
      on: object;
      jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, string> }> }>;
    };
    expect(Object.keys(workflow.on)).toContain('pull_request');
    const step = Object.values(workflow.jobs)
      .flatMap((job) => job.steps)
      .find((candidate) => candidate.uses?.endsWith('/ci@v1'))!;
    for (const input of Object.keys(step.with!)) expect(Object.keys(action.inputs)).toContain(input);
  });

  test('a leak fails the step, with outputs, an annotation at the line, a step summary and both reports', async () => {
    const run = await runStep({ entry: 'fixtures/leaky/app.py', 'fork-marker': 'READY' });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ status: 'fail', leaks: '1' });
    expect(run.stdout).toMatch(/^::error file=fixtures\/leaky\/app\.py,line=8,/m);
    expect(run.summary).toMatch(/^### ❌ fixtures\\\/leaky\\\/app\\\.py: 1 fd\\\(s\\\) open at the fork point$/m);
    expect(JSON.parse(readFileSync(run.outputs['json-report']!, 'utf8')).status).toBe('fail');
    expect(readFileSync(run.outputs['junit-report']!, 'utf8')).toMatch(/<failure /);
  });

  // A PATH with every program of this machine but strace, apt-get and sudo: an attempt to install
  // strace fails, and says so.
  function pathWithoutStrace(): string {
    const bin = join(scratch(), 'bin');
    mkdirSync(bin);
    const dirs = (process.env.PATH ?? '').split(':').filter((dir) => dir && existsSync(dir));
    for (const dir of [dirname(process.execPath), ...dirs])
      for (const name of readdirSync(dir))
        if (!['strace', 'apt-get', 'sudo'].includes(name) && !existsSync(join(bin, name)))
          symlinkSync(join(dir, name), join(bin, name));
    return bin;
  }

  test.runIf(existsSync(TRACER))(
    "strace is installed only where the check may use it: not for prefork-check's own tracer",
    async () => {
      // The default tracer, whatever this suite runs with ($PREFORK_CHECK_TRACER).
      const PATH = pathWithoutStrace();
      const native = await runStep(
        { entry: 'fixtures/leaky/app.py', 'fork-marker': 'READY' },
        { PATH, PREFORK_CHECK_TRACER: 'auto' },
      );
      expect(native.exitCode, native.stdout + native.stderr).toBe(1);
      expect(native.stdout).not.toContain('Installing strace');
      expect(JSON.parse(readFileSync(native.outputs['json-report']!, 'utf8')).checks[0].tool.tracer).toBe('native');
      // Asked for strace by an argument, the environment or a config's check that runs: an install
      // is tried (and here fails).
      const config = join(scratch(), 'prefork-check.config.json');
      writeFileSync(config, JSON.stringify({ checks: [{ entry: 'fixtures/leaky/app.py', nativeStacks: true }] }));
      const app = { entry: 'fixtures/leaky/app.py', 'fork-marker': 'READY' };
      for (const [inputs, env] of [
        [{ ...app, args: '--tracer strace' }, { PREFORK_CHECK_TRACER: 'auto' }],
        [app, { PREFORK_CHECK_TRACER: 'strace' }],
        [{ config }, { PREFORK_CHECK_TRACER: 'auto' }],
      ] as const) {
        const run = await runStep(inputs, { PATH, ...env });
        expect(run.stdout).toContain('Installing strace');
        expect(run.exitCode).toBe(2);
        expect(run.stdout).toMatch(/::error title=prefork-check::strace is missing and could not be installed/);
      }
      // An app named on the command line runs instead of the config's checks: theirs ask nothing.
      const named = await runStep({ ...app, config }, { PATH, PREFORK_CHECK_TRACER: 'auto' });
      expect(named.stdout).not.toContain('Installing strace');
      expect(named.exitCode, named.stdout + named.stderr).toBe(1);
    },
  );

  test('a clean app passes; a quoted command line is split as a shell would', async () => {
    const run = await runStep({ command: `bash -c 'exec python3 fixtures/clean/app.py'`, 'fork-marker': 'READY' });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ status: 'pass', leaks: '0' });
  });

  test('bad inputs are an error annotation and exit 2', async () => {
    const both = await runStep({ entry: 'app.py', command: 'python3 app.py' });
    expect(both.exitCode).toBe(2);
    expect(both.stdout).toMatch(/^::error title=prefork-check::give entry or command, not both$/m);
    const flag = await runStep({ entry: 'fixtures/clean/app.py', 'fork-at-first-fork': 'yes' });
    expect(flag.exitCode).toBe(2);
    expect(flag.stdout).toMatch(/fork-at-first-fork must be true or false, got 'yes'/);
  });

  test('arguments are split as a shell quotes them, or one per line; an unmatched quote stops the step', async () => {
    const quoted = await runStep({
      entry: 'fixtures/leaky/app.py',
      'fork-marker': 'READY',
      args: `--allow '**/app.log' --allow "/never there/x" --timeout\\ 30`,
    });
    // The backslash escapes the space: one word, "--timeout 30", which prefork-check rejects by name.
    expect(quoted.stderr).toMatch(/Unknown option '--timeout 30'|--timeout 30/);
    const lines = await runStep({
      entry: 'fixtures/leaky/app.py',
      'fork-marker': 'READY',
      args: '--allow\n**/app.log\n--timeout\n30\n',
    });
    expect(lines.exitCode, lines.stdout + lines.stderr).toBe(0);
    expect(lines.outputs).toMatchObject({ status: 'pass', leaks: '0' });
    const unmatched = await runStep({ entry: 'fixtures/leaky/app.py', args: "--allow it's" });
    expect(unmatched.exitCode).toBe(2);
    expect(unmatched.stdout).toMatch(
      /^::error title=prefork-check::cannot split the args input into words \(unmatched ' at character 11\)/m,
    );
  });

  test('each use and each matrix shard uploads under its own artifact name; an artifact-name input wins', async () => {
    const shard = (i: number) =>
      runStep({ entry: 'fixtures/clean/app.py', 'fork-marker': 'READY', args: `--shard ${i}/2` });
    const [first, second] = await Promise.all([shard(1), shard(2)]);
    expect(first.outputs['artifact-name']).toMatch(/^prefork-check-reports-\w+-[0-9a-f]{8}$/);
    expect(first.outputs['artifact-name']).not.toBe(second.outputs['artifact-name']);
    const named = await runStep({
      entry: 'fixtures/clean/app.py',
      'fork-marker': 'READY',
      'artifact-name': 'fd-reports-py3.12',
    });
    expect(named.outputs['artifact-name']).toBe('fd-reports-py3.12');
    expect(action.runs.steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!.with!.name).toBe(
      '${{ steps.check.outputs.artifact-name }}',
    );
  });

  // npm with no registry to reach: it fails at once, as for a version that was never published.
  const noRegistry = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };

  test('by default it installs its own version from npm, and runs its checkout when npm does not have it', async () => {
    const run = await runStep({ entry: 'fixtures/leaky/app.py', 'fork-marker': 'READY', version: '' }, noRegistry);
    expect(run.stdout).toMatch(
      /^::notice title=prefork-check::prefork-check@\d+\.\d+\.\d+ could not be installed from npm \(npm error .*\); running the action's own checkout instead\.$/m,
    );
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ status: 'fail', leaks: '1' });
  });

  test('a version npm cannot install is an error annotation and exit 2, not a quiet fallback', async () => {
    const run = await runStep({ entry: 'fixtures/leaky/app.py', version: '9.9.9' }, noRegistry);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toMatch(
      /^::error title=prefork-check::could not install prefork-check@9\.9\.9 from npm: npm error /m,
    );
    expect(run.outputs).toMatchObject({ status: 'error' });
  });

  test('a package given as a tarball is installed (runtime dependencies only) and is what runs', async () => {
    const packed = scratch();
    const { stdout } = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packed], {
      cwd: ROOT,
    });
    const tarball = join(packed, stdout.trim().split('\n').at(-1)!);
    const run = await runStep({ entry: 'fixtures/leaky/app.py', 'fork-marker': 'READY', version: tarball });
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(run.outputs).toMatchObject({ status: 'fail', leaks: '1' });
    const installed = join(run.runnerTemp, 'prefork-check-cli', 'node_modules');
    expect(existsSync(join(installed, 'prefork-check', 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(installed, 'vitest'))).toBe(false);
  }, 120_000);
});
