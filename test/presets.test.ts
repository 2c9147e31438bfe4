import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detectPreset } from '../src/presets/presets.js';
import type { JsonReport as Report } from '../src/reporters/json.js';
import { fixture, runCli, scratch } from './helpers/run-cli.js';
import { pythonHas } from './helpers/installed.js';

describe('a preset is detected from the command, through the wrappers people start servers with', () => {
  test.each([
    [['gunicorn', '--preload', 'app:app'], 'gunicorn'],
    [['/usr/bin/python3', '-m', 'celery', '-A', 'tasks', 'worker'], 'celery'],
    [['env', 'APP_ENV=prod', 'PORT=8000', 'gunicorn', 'app:app'], 'gunicorn'],
    [['env', '-i', 'PATH=/usr/bin', 'uwsgi', '--ini', 'app.ini'], 'uwsgi'],
    [['bundle', 'exec', 'puma', '-C', 'puma.rb'], 'puma'],
    [['poetry', 'run', 'celery', '-A', 'tasks', 'worker'], 'celery'],
    [['nohup', 'nice', '-n', '5', 'unicorn', '-c', 'unicorn.conf.rb'], 'unicorn'],
    [['timeout', '--signal=TERM', '60', 'supervisord', '-n'], 'supervisor'],
    [['bash', '-c', 'cd /srv/app && exec gunicorn --preload app:app'], 'gunicorn'],
    [['sh', '-c', 'set -e; APP_ENV=prod exec "uwsgi" --ini app.ini'], 'uwsgi'],
    [['env', 'A=1', 'sh', '-c', 'bundle exec puma'], 'puma'],
    [['hypercorn', '--workers', '4', 'asgi:app'], 'hypercorn'],
    [['uwsgi_python3', '--ini', 'app.ini'], 'uwsgi'],
    [['/usr/bin/uwsgi-core', '--ini', 'app.ini'], 'uwsgi'],
    [['unicorn_rails', '-c', 'config/unicorn.rb'], 'unicorn'],
  ])('%j → %s', (command, preset) => {
    expect(detectPreset(command)?.name).toBe(preset);
  });

  test.each([
    [['python3', 'app.py']],
    [['bash', '-c', 'echo gunicorn is not started here']],
    [['env', 'GUNICORN_CMD_ARGS=--preload', 'python3', 'serve.py']],
    [['bundle', 'install']],
    [['uwsgitop', '127.0.0.1:9191']],
  ])('%j → none', (command) => {
    expect(detectPreset(command)).toBeUndefined();
  });

  test.each([
    [
      '#!/bin/sh\nset -e\npython3 manage.py migrate\nexec gunicorn --preload \\\n  --bind 0.0.0.0:8000 app:app\n',
      'gunicorn',
    ],
    [
      '#!/usr/bin/env bash\nif [ -n "$DEBUG" ]; then\n  export LOG=debug\nfi\ncd /srv && exec bundle exec puma -C config/puma.rb\n',
      'puma',
    ],
    ['#!/bin/bash\n# runs what it is given\nexec "$@"\n', undefined],
    ['#!/bin/sh\nif [ "$1" = worker ]; then exec celery -A proj worker; else exec gunicorn app:app; fi\n', undefined],
    ['#!/bin/sh\necho "gunicorn is started elsewhere"\n', undefined],
  ])('a shell script it runs, %j → %s', (text, preset) => {
    const dir = scratch();
    writeFileSync(join(dir, 'start.sh'), text, { mode: 0o755 });
    expect(detectPreset(['./start.sh'], dir)?.name).toBe(preset);
    expect(detectPreset(['sh', 'start.sh', 'web'], dir)?.name).toBe(preset);
    expect(detectPreset(['env', 'PORT=8000', `${dir}/start.sh`])?.name).toBe(preset);
  });

  test('an entrypoint that runs what it is given (exec "$@"): the server in its arguments', () => {
    const dir = scratch();
    const waits = '#!/bin/sh\nset -e\nuntil pg_isready -h db; do sleep 1; done\nexec "$@"\n';
    writeFileSync(join(dir, 'entrypoint.sh'), waits, { mode: 0o755 });
    expect(detectPreset(['./entrypoint.sh', 'gunicorn', '--preload', 'app:app'], dir)?.name).toBe('gunicorn');
    expect(detectPreset(['sh', 'entrypoint.sh', 'celery', '-A', 'proj', 'worker'], dir)?.name).toBe('celery');
    expect(detectPreset(['./entrypoint.sh', 'python3', 'manage.py', 'migrate'], dir)).toBeUndefined();
    // One that also runs another server's program first is two servers' to choose from: none.
    const pings = '#!/bin/sh\ncelery -A proj inspect ping || true\nexec "$@"\n';
    writeFileSync(join(dir, 'pings.sh'), pings, { mode: 0o755 });
    expect(detectPreset(['./pings.sh', 'gunicorn', 'app:app'], dir)).toBeUndefined();
  });

  test('bash -lc, as containers run a command', () => {
    expect(detectPreset(['bash', '-lc', 'bundle exec puma -C config/puma.rb'])?.name).toBe('puma');
  });
});

describe('preset multiprocessing: an app whose server is multiprocessing itself (fork start method)', () => {
  const app = fixture('multiprocessing-server');
  const check = (...args: string[]) => runCli(['--preset', 'multiprocessing', '--', 'python3', app, ...args]);
  const counted = (report: Report) => report.leaks.filter((leak) => !leak.allowed);
  const allowedRoles = (report: Report) => [...new Set(report.leaks.map((leak) => leak.allowedBy))].sort();
  const own = "preset multiprocessing: the forked process's own pipes (Process.start)";

  test('without it, a first fork by multiprocessing says the preset exists; a fork of the app’s own does not', async () => {
    const serving = 'import multiprocessing, time; pool = multiprocessing.get_context("fork").Pool(2); time.sleep(60)';
    const suggestion =
      "fds multiprocessing makes for its own processes count: if multiprocessing is this app's server (its fork the workers'), --preset multiprocessing allows them";
    const pool = await runCli(['--fork-at-first-fork', '--', 'python3', '-c', serving]);
    expect(pool.exitCode, pool.stdout + pool.stderr).toBe(1);
    expect(pool.report!.forkPoint.notes).toContain(suggestion);
    expect(pool.stdout).toContain(`note: ${suggestion}`);
    // `--preset none` is the user's answer: no preset, and no note asking again.
    const declined = await runCli(['--fork-at-first-fork', '--preset', 'none', '--', 'python3', '-c', serving]);
    expect(declined.exitCode, declined.stdout + declined.stderr).toBe(1);
    expect(declined.report!.forkPoint.notes).not.toContain(suggestion);
    const own = await runCli([
      '--fork-at-first-fork',
      '--',
      'python3',
      '-c',
      'import os, time; r, w = os.pipe(); os.fork() == 0 and time.sleep(60); time.sleep(60)',
    ]);
    expect(own.exitCode, own.stdout + own.stderr).toBe(1);
    expect(own.report!.forkPoint.notes).not.toContain(suggestion);
  });

  test.concurrent.each([
    ['pool', ["preset multiprocessing: pool's task, result and change-notifier pipes (Pool)", own]],
    [
      'executor',
      ["preset multiprocessing: executor's call and result queues and wakeup pipe (ProcessPoolExecutor)", own],
    ],
    ['process', [own]],
  ])(
    '%s: the pipes multiprocessing makes for its workers are allowed; a ThreadPool, a Queue and a file still count, until the worker closes it',
    async (variant, roles) => {
      const leaky = await check(variant);
      expect(leaky.exitCode, leaky.stdout + leaky.stderr).toBe(1);
      // Multiprocessing's fork, never the helper the app forked first.
      expect(leaky.report!.forkPoint.notes).toContainEqual(
        expect.stringMatching(/^skipped pid \d+: forked by .* at .*app\.py:21, not by the server's worker fork/),
      );
      expect(counted(leaky.report!).map((leak) => [leak.kind, leak.origin?.line])).toEqual([
        ['file', 19],
        ['pipe', 26],
        ['pipe', 26],
        ['pipe', 28],
        ['pipe', 28],
      ]);
      expect(allowedRoles(leaky.report!)).toEqual([undefined, ...roles].sort());
      expect(counted(leaky.report!)[0]!.hint?.text).toMatch(
        /Pool\(initializer=\.\.\.\).* Closing the inherited copy in the pool's initializer or the process's target also passes this check\.$/,
      );

      const fixed = await check(variant, 'fixed');
      expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
      const closed = fixed.report!.leaks.filter((leak) => leak.closedInWorker);
      expect(closed.map((leak) => [leak.kind, leak.origin?.line, leak.closedInWorker?.origin?.line])).toEqual([
        ['file', 19, 33],
      ]);
    },
  );
});

describe.runIf(pythonHas('tornado'))(
  'preset tornado: its multi-process mode (listeners bound, then a fork per worker)',
  () => {
    const app = fixture('tornado-server');
    const listener = 'preset tornado: listening socket (bind_sockets, HTTPServer.bind)';

    test.concurrent.each(['fork_processes', 'start'])(
      '%s: the listeners Tornado bound are allowed; the app’s file and its own listener count, until the worker closes them',
      async (variant) => {
        const check = (...args: string[]) =>
          runCli(['--preset', 'tornado', '--', '/usr/bin/python3', app, variant, ...args]);
        const leaky = await check();
        expect(leaky.exitCode, leaky.stdout + leaky.stderr).toBe(1);
        const counted = leaky.report!.leaks.filter((leak) => !leak.allowed);
        expect(counted.map((leak) => [leak.kind, leak.origin?.line, leak.hint?.id])).toEqual([
          ['file', 28, 'file-at-load'],
          ['socket', 30, 'listening-socket'],
        ]);
        expect(leaky.report!.leaks.filter((leak) => leak.allowed).map((leak) => leak.allowedBy)).toEqual([listener]);
        expect(counted[0]!.hint?.text).toMatch(
          /fork_processes\(n\).* Closing the inherited copy in the code after fork_processes\(\) returns also passes this check\.$/,
        );

        const fixed = await check('fixed');
        expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
        const closed = fixed.report!.leaks.filter((leak) => leak.closedInWorker);
        expect(closed.map((leak) => [leak.kind, leak.origin?.line, leak.closedInWorker?.origin?.line])).toEqual([
          ['file', 28, 45],
          ['socket', 30, 46],
        ]);
      },
    );

    test('without it, the listener counts and a note names the preset; --preset none keeps the verdict and drops the note', async () => {
      const suggestion =
        "fds tornado makes for its own processes count: if tornado is this app's server (its fork the workers'), --preset tornado allows them";
      for (const preset of [[], ['--preset', 'none']]) {
        const run = await runCli(['--fork-at-first-fork', ...preset, '--', '/usr/bin/python3', app]);
        expect(run.exitCode, run.stdout + run.stderr).toBe(1);
        expect(run.report!.leaks.filter((leak) => !leak.allowed).map((leak) => leak.kind)).toEqual([
          'file',
          'socket',
          'socket',
        ]);
        if (preset.length === 0) expect(run.report!.forkPoint.notes).toContain(suggestion);
        else expect(run.report!.forkPoint.notes).not.toContain(suggestion);
      }
    });
  },
);
