import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FdRecord, Report, StackFrame } from '../src/report/types.js';
import type { FdKind } from '../src/model/open-file.js';
import { hintFor } from '../src/hints/choose-hint.js';
import { ROOT, fixture, runCli, scratch, type CliRun } from './helpers/run-cli.js';
import { pythonHas, rubyHas } from './helpers/installed.js';
import { REDIS, startRedis } from './helpers/redis.js';
import { devLogUsable, withDevLog } from './helpers/dev-log.js';

/** The hint each line of a fixture must give its leak: `# hint: <id>`, by `file:line`. */
function declaredHints(file: string): Record<string, string> {
  const shown = relative(ROOT, file);
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((text, i) => {
        const mark = /# hint: (\S+)$/.exec(text);
        return mark ? [[`${shown}:${i + 1}`, mark[1]!]] : [];
      }),
  );
}

/** The declared hints of one variant of a fixture: the lines of its branch (`which == "x"`, Ruby's `when 'x'`). */
function declaredLinesOf(file: string, which: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((text) => text.includes(`which == "${which}"`) || text === `when '${which}'`);
  const end = lines.findIndex((text, i) => i > start && /^(elif |else|if |when |end$)/.test(text));
  return Object.fromEntries(
    Object.entries(declaredHints(file)).filter(([at]) => {
      const line = Number(at.slice(at.lastIndexOf(':') + 1));
      return line > start && (end < 0 || line <= end);
    }),
  );
}

/** The hint of each counted leak, by its origin's `file:line`. */
function reportedHints(report: Report): Record<string, string | undefined> {
  return Object.fromEntries(
    report.leaks
      .filter((leak) => !leak.allowed)
      .map((leak) => [`${leak.origin?.file}:${leak.origin?.line}`, leak.hint?.id]),
  );
}

/** The leaks at the one line an app declares (`# hint: <id>`), and the hint it declares there. */
function atTheDeclaredLine(run: CliRun, app: string): { made: Report['leaks']; id: string } {
  const [[at, id]] = Object.entries(declaredHints(app)) as [[string, string]];
  return { made: run.report!.leaks.filter((leak) => `${leak.origin?.file}:${leak.origin?.line}` === at), id };
}

/** A frame of `module`, the app's own or a library's. */
const frame = (module: string, library: boolean): StackFrame => ({
  file: `${module}.py`,
  line: 1,
  function: 'f',
  module,
  library,
});

/** An fd of `kind` made under `stack` (innermost first), at the app's line 1. */
const recordOf = (kind: FdKind, stack: StackFrame[]): FdRecord => ({
  fd: 4,
  kind,
  target: kind,
  flags: [],
  cloexec: true,
  createdBy: { type: 'syscall', pid: 1, tid: 1, program: 'python3', syscall: 'openat' },
  origin: { file: 'app.py', line: 1, function: '<module>', native: false, library: false },
  stack,
});

/** A fixture app checked to READY as it is, which must fail, and with `fixed`, which must pass. */
async function leakyThenFixed(command: string[]): Promise<{ run: CliRun; fixed: CliRun }> {
  const run = await runCli(['--fork-marker', 'READY', '--', ...command]);
  expect(run.exitCode, run.stdout + run.stderr).toBe(1);
  const fixed = await runCli(['--fork-marker', 'READY', '--', ...command, 'fixed']);
  expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
  return { run, fixed };
}

describe('a hint on every leak that counts: the fix for the library that made it, else its kind', () => {
  test('the standard library’s makers and each kind get their own hint, and applying them passes', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('hints')]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const reported = reportedHints(run.report!);
    for (const [line, id] of Object.entries(declaredHints(fixture('hints')))) expect(reported[line], line).toBe(id);
    // Every leak that counts has one; the console shows it as a fix line.
    expect(run.report!.leaks.filter((leak) => !leak.allowed && leak.hint === undefined)).toEqual([]);
    // A server's hook is added; closing there is offered only where the check follows the worker to see it.
    const leak = run.report!.leaks.find((candidate) => !candidate.allowed)!;
    const closing = / Closing the inherited copy in post_fork also passes this check\.$/;
    expect(hintFor(leak, 'gunicorn', true).text).toMatch(closing);
    expect(hintFor(leak, 'gunicorn', false).text).not.toMatch(closing);
    expect(hintFor(leak, 'gunicorn', false).text).toContain('def post_fork(server, worker)');
    expect(hintFor(leak, 'supervisor', true).text).not.toMatch(/Closing the inherited copy/);
    expect(run.stdout).toMatch(/^ {10}fix {7}A log file opened while the app loaded by a logging FileHandler/m);
    const fixed = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('hints'), 'fixed']);
    expect(fixed.exitCode, fixed.stdout).toBe(0);
  });

  test('what multiprocessing shares on purpose (the resource tracker, SharedMemory, a Value): each its own hint; applying them passes', async () => {
    const app = fixture('hints', 'multiprocessing_shared.py');
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', app]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const counted = run.report!.leaks.filter((leak) => !leak.allowed);
    expect(counted.map((leak) => leak.kind).sort()).toEqual(['file', 'file', 'file', 'file', 'pipe']);
    expect(reportedHints(run.report!)).toEqual(declaredHints(app));
    // The hints' own words: close() the block; createdIn rules on the tracker's module and the heap's.
    const config = join(scratch(), 'shared.json');
    writeFileSync(
      config,
      '{"allow": [{"createdIn": "multiprocessing.resource_tracker"}, {"createdIn": "multiprocessing.heap"}]}',
    );
    const fixed = await runCli(['--fork-marker', 'READY', '--config', config, '--', 'python3', app, 'fixed']);
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.report!.leaks.map((leak) => [leak.kind, leak.allowed]).sort()).toEqual([
      ['file', true],
      ['file', true],
      ['pipe', true],
    ]);
  });

  test('one line, two fixes: a process started with spawn and the resource tracker it starts are reported apart', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--',
      'python3',
      fixture('hints', 'multiprocessing_shared.py'),
      'spawn',
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const hints = run.report!.leaks.filter((leak) => !leak.allowed).map((leak) => leak.hint?.id);
    expect(hints.sort()).toEqual([
      'multiprocessing-process',
      'multiprocessing-process',
      'multiprocessing-resource-tracker',
    ]);
    expect(run.stdout).toMatch(/^ {10}fix {7}A process started with multiprocessing/m);
    expect(run.stdout).toMatch(/^ {10}fix {7}multiprocessing's resource tracker was started/m);
  });

  test.runIf(pythonHas('sqlalchemy, redis, urllib3'))(
    'SQLAlchemy, redis-py and urllib3 (requests) get theirs, and applying them passes',
    async () => {
      const app = fixture('hints-libraries');
      const run = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const reported = reportedHints(run.report!);
      for (const [line, id] of Object.entries(declaredHints(app))) expect(reported[line], line).toBe(id);
      const fixed = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, 'fixed']);
      expect(fixed.exitCode, fixed.stdout).toBe(0);
    },
  );

  test.runIf(pythonHas('grpc'))(
    "grpc: the poller's fds and the connection its thread makes get grpc's hint; closing the channel before the fork passes",
    async () => {
      const app = fixture('hints-grpc');
      const run = await runCli(['--fork-at-first-fork', '--', '/usr/bin/python3', app]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const counted = run.report!.leaks.filter((leak) => !leak.allowed);
      expect(counted.map((leak) => leak.kind)).toEqual(expect.arrayContaining(['epoll', 'eventfd']));
      // The connection, when it is still open, comes from grpc's own thread: named by the line that started it.
      expect(counted.map((leak) => leak.hint?.id)).toEqual(counted.map(() => 'grpc-channel'));
      const reported = reportedHints(run.report!);
      for (const [line, id] of Object.entries(declaredHints(app))) expect(reported[line], line).toBe(id);
      const fixed = await runCli(['--fork-at-first-fork', '--', '/usr/bin/python3', app, 'fixed']);
      expect(fixed.exitCode, fixed.stdout).toBe(0);
      expect(fixed.report!.leaks.filter((leak) => leak.closedInWorker).map((leak) => leak.kind)).toEqual(
        expect.arrayContaining(['epoll', 'eventfd']),
      );
    },
  );

  // Native clients make their fds in C, with no audit event: their connect (pyzmq: the context's
  // calls) is announced as a native call, so each fd gets the app's line and its library's hint.
  // The database servers are the fixture's own fakes, which answer just the handshake.
  for (const [module, file, ...args] of [
    ['psycopg2', 'postgres_app.py', 'psycopg2'],
    ['psycopg', 'postgres_app.py', 'psycopg'],
    ['MySQLdb', 'mysql_app.py'],
    ['zmq', 'zeromq_app.py'],
    ['django', 'django_app.py'],
  ] as const)
    test.runIf(pythonHas(module))(
      `${module}: each fd at its line, in its native call, with its hint; applying it passes`,
      async () => {
        const app = fixture('hints-drivers', file);
        const run = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, ...args]);
        expect(run.exitCode, run.stdout + run.stderr).toBe(1);
        const counted = run.report!.leaks.filter((leak) => !leak.allowed);
        expect(counted.length).toBeGreaterThan(0);
        expect(counted.filter((leak) => leak.origin?.native !== true)).toEqual([]);
        const reported = reportedHints(run.report!);
        expect(Object.keys(reported).sort()).toEqual(Object.keys(declaredHints(app)).sort());
        for (const [line, id] of Object.entries(declaredHints(app))) expect(reported[line], line).toBe(id);
        const fixed = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, ...args, 'fixed']);
        expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
      },
    );

  for (const [gem, file] of [
    ['pg', 'postgres_app.rb'],
    ['mysql2', 'mysql_app.rb'],
  ] as const)
    test.runIf(rubyHas(gem))(
      `Ruby, ${gem}: its connection at its line, in its native call, with its hint; closing it passes`,
      async () => {
        const app = fixture('hints-drivers', file);
        const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', app]);
        expect(run.exitCode, run.stdout + run.stderr).toBe(1);
        const counted = run.report!.leaks.filter((leak) => !leak.allowed);
        expect(counted.map((leak) => [leak.kind, leak.origin?.call])).toEqual([['socket', gem]]);
        expect(reportedHints(run.report!)).toEqual(declaredHints(app));
        const fixed = await runCli(['--fork-marker', 'READY', '--', 'ruby', app, 'fixed']);
        expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
      },
    );

  // The system logger's sockets are made in C (glibc's syslog, libsystemd): the call is announced.
  for (const [which, needs, usable] of [
    ['syslog', 'syslog', devLogUsable],
    ['journal', 'systemd.journal', true],
  ] as const)
    test.runIf(usable && pythonHas(needs))(
      `the ${which} module's socket to the system logger at its line, with its hint; applying it passes`,
      async () => {
        const app = fixture('hints-syslog');
        const check = (...args: string[]) => runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, ...args]);
        await withDevLog(async () => {
          const run = await check(which);
          expect(run.exitCode, run.stdout + run.stderr).toBe(1);
          const counted = run.report!.leaks.filter((leak) => !leak.allowed);
          expect(counted.map((leak) => [leak.kind, leak.origin?.native, leak.hint?.id])).toEqual([
            ['socket', true, 'log-socket'],
          ]);
          expect(reportedHints(run.report!)).toEqual(declaredLinesOf(app, which));
          const fixed = await check(which, 'fixed');
          expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
        });
      },
    );

  test.runIf(devLogUsable)(
    'Ruby: Syslog’s socket at the line that logged, with its hint; closing it passes',
    async () => {
      const app = fixture('hints-syslog', 'app.rb');
      await withDevLog(async () => {
        const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', app]);
        expect(run.exitCode, run.stdout + run.stderr).toBe(1);
        const counted = run.report!.leaks.filter((leak) => !leak.allowed);
        expect(counted.map((leak) => [leak.kind, leak.origin?.call])).toEqual([['socket', 'syslog']]);
        expect(reportedHints(run.report!)).toEqual(declaredHints(app));
        const fixed = await runCli(['--fork-marker', 'READY', '--', 'ruby', app, 'fixed']);
        expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
      });
    },
  );

  test.runIf(pythonHas('eventlet'))(
    "eventlet's hub gets eventlet's hint, whatever else was importing; dropping it as the hint says passes",
    async () => {
      const app = fixture('hints-libraries', 'eventlet_app.py');
      const run = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const counted = run.report!.leaks.filter((leak) => !leak.allowed);
      expect(counted.map((leak) => [leak.kind, leak.origin?.file, leak.hint?.id])).toEqual([
        ['epoll', relative(ROOT, app), 'eventlet-hub'],
      ]);
      const fixed = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, 'fixed']);
      expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    },
  );

  test('a library’s hint only for the kinds of fd it makes: an epoll made under urllib3’s import is no connection', () => {
    const epoll = recordOf('epoll', [
      frame('somehub', true),
      frame('urllib3.util.connection', true),
      frame('requests', true),
      frame('app', false),
    ]);
    expect(hintFor(epoll, undefined).id).toBe('event-loop');
    expect(hintFor({ ...epoll, kind: 'socket', target: 'tcp 1.2.3.4:5 -> 6.7.8.9:80' }, undefined).id).toBe(
      'requests-session',
    );
  });

  test('a library that called the app’s code gives no hint: the one the app’s line called does', () => {
    // Celery's loader imports the app's tasks module through kombu's symbol_by_name.
    const loaded = [frame('tasks', false), frame('kombu.utils.imports', true), frame('celery.loaders.base', true)];
    expect(hintFor(recordOf('file', loaded), undefined).id).toBe('file-at-load');
    expect(hintFor(recordOf('file', [frame('kombu.connection', true), ...loaded]), undefined).id).toBe(
      'kombu-connection',
    );
    // No app frame at all (a library's own thread): every frame may tell.
    expect(hintFor(recordOf('file', loaded.slice(1)), undefined).id).toBe('kombu-connection');
  });

  // Cache and database clients written in Python or Ruby: each leak at its line with its library's
  // hint, and the close the hint names passes.
  for (const [runtime, library, file, ...alsoNeeds] of [
    ['python', 'pymemcache', 'cache_clients.py'],
    ['python', 'memcache', 'cache_clients.py'],
    ['python', 'pylibmc', 'cache_clients.py'],
    ['ruby', 'dalli', 'clients.rb'],
    ['ruby', 'sequel', 'clients.rb', 'sqlite3'],
    ['ruby', 'hiredis', 'clients.rb', 'redis'],
  ] as const) {
    const has = runtime === 'python' ? pythonHas : rubyHas;
    const installed = [library, ...alsoNeeds].every((needed) => has(needed));
    test.runIf(installed)(`${library}: its leak at its line with its hint; applying it passes`, async () => {
      const app = fixture('hints-libraries', file);
      const command = runtime === 'python' ? ['/usr/bin/python3', app, library] : ['ruby', app, library];
      const run = await runCli(['--fork-marker', 'READY', '--', ...command]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const declared = Object.entries(declaredLinesOf(app, library));
      expect(declared).toHaveLength(1);
      const reported = reportedHints(run.report!);
      for (const [line, id] of declared) expect(reported[line], line).toBe(id);
      const fixed = await runCli(['--fork-marker', 'READY', '--', ...command, 'fixed']);
      expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    });
  }

  test.runIf(pythonHas('uvloop'))(
    'uvloop: a loop’s fds at its line with the loop hint; closed, only libuv’s signal pipe is left, which each child replaces',
    async () => {
      const app = fixture('hints-libraries', 'uvloop_loop.py');
      const [line] = Object.keys(declaredHints(app)).map((at) => Number(at.slice(at.lastIndexOf(':') + 1)));
      const { run, fixed } = await leakyThenFixed(['/usr/bin/python3', app]);
      // An open loop: everything libuv made counts, its signal pipe too.
      expect(run.report!.leaks.filter((leak) => leak.allowed)).toEqual([]);
      expect(new Set(run.report!.leaks.map((leak) => leak.kind))).toEqual(new Set(['epoll', 'eventfd', 'pipe']));
      for (const leak of run.report!.leaks)
        expect(leak, leak.target).toMatchObject({
          origin: { line, native: true, call: 'uvloop' },
          hint: { id: 'asyncio-loop' },
        });
      expect(fixed.report!.leaks.map((leak) => [leak.kind, leak.excuse])).toEqual([
        ['pipe', { type: 'runtime', label: 'libuv' }],
        ['pipe', { type: 'runtime', label: 'libuv' }],
      ]);
      expect(fixed.stdout).toContain("allowed by libuv's process-wide signal pipe");
    },
  );

  test.runIf(pythonHas('pymongo'))(
    'pymongo: the monitor thread’s connection names the line that made the client, with its hint; closing it passes',
    async () => {
      const app = fixture('hints-libraries', 'mongo.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
      const { made, id } = atTheDeclaredLine(run, app);
      expect(made).toEqual([
        expect.objectContaining({
          target: expect.stringMatching(/^tcp \S+ -> 127\.0\.0\.1:\d+$/),
          origin: expect.objectContaining({ library: false, native: false }),
          originNote: 'made by library code (pymongo.pool:_create_connection) in a thread started from this line',
          hint: expect.objectContaining({ id }),
        }),
      ]);
    },
  );

  test.runIf(pythonHas('boto3'))(
    'boto3: the client’s pooled connection gets the client’s hint, not a requests Session’s; closing the client passes',
    async () => {
      const app = fixture('hints-libraries', 'aws_client.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
      const { made, id } = atTheDeclaredLine(run, app);
      expect(made.map((leak) => [leak.target.replace(/\d+/g, 'N'), leak.hint?.id])).toEqual([
        ['tcp N.N.N.N:N -> N.N.N.N:N', id],
      ]);
    },
  );

  test.runIf(pythonHas('watchdog.observers.inotify'))(
    'watchdog: the observer’s inotify fd gets the file watcher’s hint, not an event loop’s; stopping it passes',
    async () => {
      const app = fixture('hints-libraries', 'file_watcher.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
      const { made, id } = atTheDeclaredLine(run, app);
      // The inotify fd is all there is, and it is at that line.
      expect(made).toEqual(run.report!.leaks);
      expect(made.map((leak) => [leak.kind, leak.hint?.id])).toEqual([['inotify', id]]);
    },
  );

  test.runIf(pythonHas('filelock'))(
    'filelock: the held lock’s file gets the lock file’s hint, not a plain file’s; releasing it passes',
    async () => {
      const app = fixture('hints-libraries', 'lock_file.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
      const { made, id } = atTheDeclaredLine(run, app);
      expect(made).toEqual(run.report!.leaks);
      expect(made.map((leak) => [leak.kind, leak.hint?.id])).toEqual([['file', id]]);
    },
  );

  // libuuid keeps a clock file only where uuid-runtime made its directory (.ci/run installs it), and
  // asks the uuidd daemon instead where one runs.
  test.runIf(existsSync('/var/lib/libuuid') && !existsSync('/run/uuidd/request'))(
    'uuid.uuid1(): libuuid’s clock file, made in C, is named at the line that asked for the UUID, with its own hint; uuid4() passes',
    async () => {
      const app = fixture('hints-libraries', 'uuid1_clock.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
      const { made, id } = atTheDeclaredLine(run, app);
      expect(made).toEqual(run.report!.leaks);
      expect(made.map((leak) => [leak.kind, leak.target, leak.origin?.call, leak.hint?.id])).toEqual([
        ['file', '/var/lib/libuuid/clock.txt', 'uuid', id],
      ]);
    },
  );

  describe.runIf(REDIS && pythonHas('kombu, celery'))('kombu and Celery with a Redis broker', () => {
    let redis: { url: string; stop: () => void } | undefined;
    beforeAll(async () => (redis = await startRedis()));
    afterAll(() => redis?.stop());

    test('a kombu queue and a task sent at import: the broker socket and the poller get kombu’s hint, not redis-py’s; releasing passes', async () => {
      const app = fixture('hints-libraries', 'broker_client.py');
      const { run } = await leakyThenFixed(['/usr/bin/python3', app, redis!.url]);
      const declared = declaredHints(app);
      expect(new Set(run.report!.leaks.map((leak) => leak.kind))).toEqual(new Set(['socket', 'epoll']));
      for (const leak of run.report!.leaks)
        expect(declared[`${leak.origin?.file}:${leak.origin?.line}`], leak.target).toBe(leak.hint?.id);
      expect(new Set(run.report!.leaks.map((leak) => leak.origin?.line)).size).toBe(Object.keys(declared).length);
    });
  });

  // A library's C code makes these: each fd at an announced native call, at its `# hint:` line
  // with that hint, and at every declared line at least one; a connection at the first.
  for (const [module, file, call] of [
    // perform(): its connection and the wakeup of its multi handle; CurlMulti(): its wakeup (a
    // socketpair, or an eventfd in newer libcurl).
    ['pycurl', 'curl.py', 'pycurl'],
    // Each client's pipes, and the producer's connection, which a thread librdkafka started in
    // the call makes.
    ['confluent_kafka', 'kafka.py', 'confluent_kafka'],
  ] as const) {
    test.runIf(pythonHas(module))(
      `${module}: each fd at the line that called into it, with its hint; applying it passes`,
      async () => {
        const app = fixture('hints-libraries', file);
        const { run } = await leakyThenFixed(['/usr/bin/python3', app]);
        const declared = declaredHints(app);
        const made = run.report!.leaks.filter((leak) => `${leak.origin?.file}:${leak.origin?.line}` in declared);
        for (const leak of made)
          expect(leak, leak.target).toMatchObject({
            origin: { native: true, call },
            hint: { id: declared[`${leak.origin!.file}:${leak.origin!.line}`] },
          });
        const lines = Object.keys(declared).map((at) => Number(at.slice(at.lastIndexOf(':') + 1)));
        expect(new Set(made.map((leak) => leak.origin!.line))).toEqual(new Set(lines));
        expect(made).toContainEqual(
          expect.objectContaining({
            target: expect.stringMatching(/^tcp \S+ -> /),
            origin: expect.objectContaining({ line: Math.min(...lines) }),
          }),
        );
      },
    );
  }

  test('Ruby: a Logger’s file and a pipe', async () => {
    const app = fixture('hints', 'app.rb');
    const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', app]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const reported = reportedHints(run.report!);
    for (const [line, id] of Object.entries(declaredHints(app))) expect(reported[line], line).toBe(id);
  });
});
