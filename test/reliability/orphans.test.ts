import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { argv0, childVitestEnv, processesWithEnv, settle, waitFor } from '../helpers/processes.js';
import { CLI, ROOT, fixture, runCli, scratch } from '../helpers/run-cli.js';
import { treeState } from '../helpers/tree-state.js';

// Each run marks its processes with a unique environment variable; the app
// double-forks a daemon that calls setsid(), leaving the process group.
const MARK = 'PREFORK_CHECK_ORPHAN_TEST';

async function leftBehind(mark: string): Promise<number[]> {
  return settle(() => processesWithEnv(MARK, mark));
}

/** Until the app (daemon mode `hang`) says its daemon is up and it hangs; whether it did. */
function appHangs(scratchDir: string): Promise<boolean> {
  return waitFor(() => ['daemon-up', 'hanging'].every((name) => existsSync(join(scratchDir, name))), 10_000);
}

describe('no process outlives the check, a setsid() daemon included', () => {
  test.concurrent.each([
    { how: 'pass', args: ['--fork-marker', 'READY'], mode: 'ready', exitCode: 0 },
    { how: 'fail', args: ['--fork-marker', 'READY'], mode: 'leak', exitCode: 1 },
    { how: 'timeout', args: ['--fork-marker', 'READY', '--timeout', '2'], mode: 'hang', exitCode: 2 },
    { how: 'crash', args: ['--fork-marker', 'READY'], mode: 'crash', exitCode: 2 },
    { how: 'first fork', args: ['--fork-at-first-fork'], mode: 'worker', exitCode: 0 },
  ])('$how', async ({ args, mode, exitCode }) => {
    const mark = randomUUID();
    const run = await runCli([...args, '--', 'python3', fixture('daemon'), mode], { env: { [MARK]: mark } });
    expect(run.exitCode, run.stdout + run.stderr).toBe(exitCode);
    expect(await leftBehind(mark)).toEqual([]);
  });

  test.concurrent.each([
    { signal: 'SIGINT', exitCode: 130 },
    { signal: 'SIGTERM', exitCode: 143 },
    { signal: 'SIGHUP', exitCode: 129 },
    { signal: 'SIGQUIT', exitCode: 131 },
    { signal: 'SIGPIPE', exitCode: 141 },
  ] as const)('the CLI gets $signal: exit $exitCode', async ({ signal, exitCode }) => {
    const mark = randomUUID();
    const dir = scratch();
    const appDir = scratch();
    const before = treeState(dir);
    const cli = execa('node', [CLI, '--fork-marker', 'READY', '--', 'python3', fixture('daemon'), 'hang'], {
      env: { [MARK]: mark, FIXTURE_SCRATCH: appDir, TMPDIR: dir },
      reject: false,
      stdin: 'ignore',
    });
    // Not before the app is up (a python3 shim's own steps would then be cut short, and say so).
    expect(await appHangs(appDir)).toBe(true);
    cli.kill(signal);
    const result = await cli;
    expect(result.exitCode).toBe(exitCode);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/ERROR The check was interrupted; the app was stopped\./);
    expect(await leftBehind(mark)).toEqual([]);
    // Its temp directory and trace fifo (made in TMPDIR) are removed.
    expect(treeState(dir)).toEqual(before);
  });

  test('the CLI gets SIGKILL: strace and the whole app tree, its setsid() daemon included, die with it', async () => {
    const mark = randomUUID();
    const appDir = scratch();
    const cli = execa('node', [CLI, '--fork-marker', 'READY', '--', 'python3', fixture('daemon'), 'hang'], {
      env: { [MARK]: mark, FIXTURE_SCRATCH: appDir },
      reject: false,
      stdin: 'ignore',
    });
    expect(await appHangs(appDir)).toBe(true);
    // The CLI, the tracer, the app and its daemon all carry the mark.
    expect(processesWithEnv(MARK, mark).length).toBeGreaterThanOrEqual(4);
    cli.kill('SIGKILL');
    await cli;
    expect(await leftBehind(mark)).toEqual([]);
  });

  test('a library caller exits during checkFork(): nothing it started is left', async () => {
    const mark = randomUUID();
    const script = `
      import { checkFork } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href)};
      void checkFork({ command: ['python3', ${JSON.stringify(fixture('daemon'))}, 'hang'], forkMarker: 'READY', appOutput: 'ignore' });
      setTimeout(() => process.exit(0), 1500);
    `;
    const caller = await execa('node', ['--input-type=module', '-e', script], {
      env: { [MARK]: mark, FIXTURE_SCRATCH: scratch() },
      reject: false,
      stdin: 'ignore',
    });
    expect(caller.exitCode, caller.stderr).toBe(0);
    expect(await leftBehind(mark)).toEqual([]);
  });

  test('a library caller killed between checks (a test runner ending its worker) leaves nothing in TMPDIR', async () => {
    const dir = scratch();
    // Three checks in one process: from the second on, the next check's fifos are made while
    // the app runs, and wait, ready, when the caller is killed.
    const script = `
      import { checkFork } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href)};
      for (let i = 0; i < 3; i++) {
        const report = await checkFork({ command: ['python3', '-c', 'print("READY")'], forkMarker: 'READY', appOutput: 'ignore' });
        if (report.status !== 'pass') throw new Error(report.status);
      }
      console.log('checked');
      setInterval(() => undefined, 1000);
    `;
    const caller = execa('node', ['--input-type=module', '-e', script], {
      env: { TMPDIR: dir },
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
    await once(caller.stdout!, 'data');
    await new Promise((resolve) => setTimeout(resolve, 300));
    caller.kill('SIGTERM');
    await caller;
    expect(treeState(dir)).toEqual({ '.': expect.stringMatching(/^directory /) });
  });

  test('a worker thread running checkFork() is terminated: its app ends then with the native tracer, when the process ends with strace', async () => {
    const mark = randomUUID();
    const appDir = scratch();
    const worker = `
      import { checkFork } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href)};
      void checkFork({ command: ['python3', ${JSON.stringify(fixture('daemon'))}, 'hang'], forkMarker: 'READY', appOutput: 'ignore' });
    `;
    // The caller lives on after its worker is gone, until told on stdin.
    const script = `
      import { Worker } from 'node:worker_threads';
      import { existsSync } from 'node:fs';
      const worker = new Worker(new URL('data:text/javascript,' + encodeURIComponent(${JSON.stringify(worker)})));
      while (!['daemon-up', 'hanging'].every((name) => existsSync(process.env.FIXTURE_SCRATCH + '/' + name)))
        await new Promise((resolve) => setTimeout(resolve, 50));
      await worker.terminate();
      console.log('terminated');
      process.stdin.once('data', () => process.exit(0));
    `;
    const caller = execa('node', ['--input-type=module', '-e', script], {
      env: { [MARK]: mark, FIXTURE_SCRATCH: appDir },
      reject: false,
      buffer: false,
    });
    await once(caller.stdout!, 'data');
    const tracedByStrace = processesWithEnv(MARK, mark).some((pid) => /(^|\/)strace$/.test(argv0(pid)));
    const others = () => processesWithEnv(MARK, mark).filter((pid) => pid !== caller.pid);
    // The native tracer dies with the thread that started it; strace's reaper waits for the process.
    if (!tracedByStrace) expect(await settle(others)).toEqual([]);
    caller.stdin!.write('\n');
    await caller;
    expect(await leftBehind(mark)).toEqual([]);
  });

  test('its stdout closed mid-run (`| head`): exit 141, nothing left running', async () => {
    const mark = randomUUID();
    const cli = execa(
      'node',
      [CLI, '--fork-marker', 'READY', '--', 'bash', '-c', 'while :; do echo tick; sleep 0.1; done'],
      {
        env: { [MARK]: mark },
        reject: false,
        stdin: 'ignore',
        buffer: false,
      },
    );
    await once(cli.stdout!, 'data');
    cli.stdout!.destroy();
    expect((await cli).exitCode).toBe(141);
    expect(await leftBehind(mark)).toEqual([]);
  });
});

describe('the app’s output, passed on', () => {
  test('an app writing 200 MB while nobody reads our stdout: our memory stays flat, and every byte arrives', async () => {
    // node:child_process: its stdout is a paused stream that stops reading the pipe once it holds
    // its high-water mark, as a slow reader would.
    const cli = spawn(
      'node',
      [
        CLI,
        '--fork-marker',
        'READY',
        '--',
        'python3',
        '-c',
        'import sys, time\nblock = b"x" * (1 << 20)\nfor _ in range(200): sys.stdout.buffer.write(block)\nsys.stdout.flush()\nprint("READY", flush=True)\ntime.sleep(30)',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NO_COLOR: '1' } },
    );
    const exited = once(cli, 'exit');
    // Nobody reads for 4 s: the app would have written it all by then.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${cli.pid}/status`, 'latin1'))![1]) * 1024;
    expect(rss).toBeLessThan(150 * 1024 * 1024);
    let bytes = 0;
    cli.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    expect((await exited)[0]).toBe(0);
    expect(bytes).toBeGreaterThan(200 * (1 << 20));
  });
});

describe('a test runner that goes away', () => {
  // A child `vitest run` whose one test runs a check that would wait 40 s for its marker.
  test.each(['SIGKILL', 'SIGINT', 'SIGTERM'] as const)(
    '%s of `vitest run`: the check’s app stops at once, though Vitest’s worker may live on',
    async (signal) => {
      const mark = randomUUID();
      const dir = scratch();
      writeFileSync(
        join(dir, 'hang.test.mjs'),
        `import { test } from 'vitest';
import { checkFork } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};
test('hangs', async () => {
  await checkFork({ command: ['python3', '-c', 'import time; time.sleep(60)'], forkMarker: 'READY', timeout: 40, appOutput: 'ignore' });
}, 60_000);
`,
      );
      const env = childVitestEnv();
      const vitest = spawn(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--root', dir], {
        cwd: dir,
        env: { ...env, [MARK]: mark },
        stdio: 'ignore',
      });
      const app = () => processesWithEnv(MARK, mark).filter((pid) => /python3/.test(argv0(pid)));
      const deadline = Date.now() + 15_000;
      while (app().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(app()).toHaveLength(1);
      vitest.kill(signal);
      expect(await settle(app, 3000)).toEqual([]);
      // What is left of Vitest (a worker that lives on) is this test's to end.
      for (const pid of processesWithEnv(MARK, mark)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone since it was listed.
        }
      }
    },
  );
});
