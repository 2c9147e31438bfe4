import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findProgram } from '../../src/launch/find-program.js';
import type { JsonReport as Report } from '../../src/reporters/json.js';
import { freePort } from '../helpers/ports.js';
import { processesWithEnv, settle } from '../helpers/processes.js';
import { ROOT, runCli, scratch } from '../helpers/run-cli.js';
import { pythonHas, rubyHas } from '../helpers/installed.js';
import { REDIS, startRedis } from '../helpers/redis.js';

// Real servers from Debian's packages (installed by .ci/run); Debian's own python3 runs them.
const SERVERS = {
  gunicorn: ['gunicorn', '--preload', '--bind', '127.0.0.1:0', '--workers', '2', 'app:app'],
  celery: [
    '/usr/bin/python3',
    '-m',
    'celery',
    '-A',
    'tasks',
    'worker',
    '--pool=prefork',
    '--concurrency=2',
    '--loglevel=WARNING',
    '--without-heartbeat',
    '--without-mingle',
    '--without-gossip',
  ],
  uwsgi: [
    'uwsgi',
    '--plugin',
    'python3',
    '--http-socket',
    '127.0.0.1:0',
    '--master',
    '--processes',
    '2',
    '--wsgi-file',
    'app.py',
    '--disable-logging',
  ],
  supervisor: ['supervisord', '-c', 'supervisord.conf'],
  unicorn: ['unicorn', '-c', 'unicorn.conf.rb', 'config.ru'],
  puma: ['puma', '-C', 'puma.rb', 'config.ru'],
} as const;
type Server = keyof typeof SERVERS;

beforeAll(() => {
  const missing = ['gunicorn', 'uwsgi', 'supervisord', 'unicorn', 'puma', '/usr/bin/python3'].filter(
    (program) => findProgram(program, ROOT) === undefined,
  );
  if (missing.length > 0)
    throw new Error(
      `Missing ${missing.join(', ')}: apt-get install gunicorn python3-celery uwsgi uwsgi-plugin-python3 python3-uwsgidecorators supervisor unicorn puma python3-flask python3-prometheus-client`,
    );
});

async function check(
  server: Server,
  variant: 'leaky' | 'fixed',
): Promise<{ report: Report; exitCode: number; appData: string; stdout: string }> {
  const appData = scratch();
  const run = await runCli(['--', ...SERVERS[server]], {
    cwd: join(ROOT, 'examples', server, variant),
    env: { APP_DATA: appData },
  });
  expect(run.report, run.stderr).toBeDefined();
  expect(await settle(() => processesWithEnv('APP_DATA', appData)), 'server processes left running').toEqual([]);
  return { report: run.report!, exitCode: run.exitCode, appData, stdout: run.stdout };
}

/** The line of an example's source marked `# leak`. */
function markedLine(file: string): number {
  return (
    readFileSync(file, 'utf8')
      .split('\n')
      .findIndex((line) => line.includes('# leak')) + 1
  );
}

const counted = (report: Report) => report.leaks.filter((leak) => !leak.allowed);
const allowedRoles = (report: Report) =>
  report.leaks
    .filter((leak) => leak.allowed)
    .map((leak) => leak.allowedBy ?? '')
    .sort();

describe.each([
  {
    server: 'gunicorn' as const,
    hint: 'sqlite3-connection',
    hook: /def post_fork\(server, worker\)/,
    leak: (d: string) => `file ${d}/app.db`,
    origin: { file: 'app.py', function: '<module>', native: true },
    allowed: [
      "preset gunicorn: arbiter's signal pipe",
      "preset gunicorn: arbiter's signal pipe",
      'preset gunicorn: listening socket',
      "preset gunicorn: worker's heartbeat file",
    ],
  },
  {
    server: 'celery' as const,
    hint: 'file-at-load',
    hook: /worker_process_init/,
    leak: (d: string) => `file ${d}/audit.log`,
    origin: { file: 'tasks.py', function: '<module>', native: false },
    allowed: [
      ...Array(2).fill("preset celery: pool's shared-memory arena"),
      ...Array(4).fill("preset celery: pool's task queue pipe"),
      ...Array(2).fill("preset celery: worker's sentinel pipe"),
    ],
  },
  {
    server: 'uwsgi' as const,
    hint: 'prometheus-multiprocess',
    hook: /@uwsgidecorators\.postfork, or set lazy-apps = true/,
    leak: () => 'socket tcp 127.0.0.1:*',
    origin: { file: 'app.py', function: '<module>', native: false },
    allowed: ['preset uwsgi: listening socket', ...Array(6).fill("preset uwsgi: master's socketpair")],
  },
])('$server', ({ server, hint, hook, leak, origin, allowed }) => {
  test('the leaky example fails with exactly its leak, at its line; the preset excuses only the server’s own fds', async () => {
    const { report, exitCode, appData } = await check(server, 'leaky');
    expect(exitCode).toBe(1);
    expect(report.preset).toEqual({ name: server, detected: true });
    expect(report.forkPoint).toMatchObject({ mode: 'first-fork', reached: true });
    expect(counted(report).map((fd) => `${fd.kind} ${fd.target}`)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${leak(appData)
            .replace(/[.[\]]/g, '\\$&')
            .replace('*', '\\d+')}$`,
        ),
      ),
    ]);
    expect(counted(report)[0]!.origin).toMatchObject({
      ...origin,
      line: markedLine(join(ROOT, 'examples', server, 'leaky', origin.file)),
    });
    expect(allowedRoles(report)).toEqual([...allowed].sort());
    // The fix: the library's (or the kind's), with the server's own hook.
    expect(counted(report)[0]!.hint).toMatchObject({ id: hint, text: expect.stringMatching(hook) });
  });

  test('the fixed example passes', async () => {
    const { report, exitCode } = await check(server, 'fixed');
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(allowedRoles(report)).toEqual([...allowed].sort());
  });
});

// The server half of each hint, applied: what the app opened at import is opened in the server's
// worker hook instead, and the check passes with no allow rule.
describe('the server hooks the hints name, applied', () => {
  test('gunicorn post_fork in gunicorn.conf.py', async () => {
    const dir = scratch();
    writeFileSync(
      join(dir, 'app.py'),
      'import os, sqlite3\ndb = None\ndef app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n',
    );
    writeFileSync(
      join(dir, 'gunicorn.conf.py'),
      'import os, sqlite3\ndef post_fork(server, worker):\n    import app\n    app.db = sqlite3.connect(os.path.join(os.environ["APP_DATA"], "app.db"))\n',
    );
    const { report, exitCode } = await checkWith(dir, () => [...SERVERS.gunicorn]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(report.forkPoint.reached).toBe(true);
  });

  test('Celery worker_process_init', async () => {
    const dir = scratch();
    writeFileSync(
      join(dir, 'tasks.py'),
      [
        'import os',
        'from celery import Celery',
        'from celery.signals import worker_process_init',
        'app = Celery("tasks", broker="memory://", backend="cache+memory://")',
        'audit = None',
        '@worker_process_init.connect',
        'def open_audit(**kwargs):',
        '    global audit',
        '    audit = open(os.path.join(os.environ["APP_DATA"], "audit.log"), "a")',
        '',
      ].join('\n'),
    );
    const { report, exitCode } = await checkWith(dir, () => [...SERVERS.celery]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(report.forkPoint.reached).toBe(true);
  });
});

// The library half of the hints, under a real server: the leak gets the library's hint with the
// server's hook, and the library's own fix (no allow rule) passes.
describe.each([
  {
    library: 'Django LOGGING (a FileHandler configured by django.setup())',
    hints: ['logging-file-handler'],
    files: (fixed: boolean) => ({
      'settings.py': [
        'import os',
        'SECRET_KEY = "not-a-secret"',
        'ALLOWED_HOSTS = ["*"]',
        'INSTALLED_APPS = []',
        'ROOT_URLCONF = "urls"',
        'LOGGING = {',
        '    "version": 1,',
        `    "handlers": {"file": {"class": "logging.FileHandler", "filename": os.path.join(os.environ["APP_DATA"], "app.log"), "delay": ${fixed ? 'True' : 'False'}}},`,
        '    "root": {"handlers": ["file"], "level": "INFO"},',
        '}',
        '',
      ].join('\n'),
      'urls.py': 'urlpatterns = []\n',
      'app.py':
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\nfrom django.core.wsgi import get_wsgi_application\napp = get_wsgi_application()\n',
    }),
    module: 'django',
  },
  {
    library: 'SQLAlchemy, redis-py and urllib3 (requests) connected at import',
    hints: ['sqlalchemy-engine', 'redis-client', 'requests-session'],
    files: (fixed: boolean) => ({
      'app.py': [
        'import os, socket',
        'import redis, sqlalchemy, urllib3',
        '# Something local to connect to: it accepts and never answers.',
        'server = socket.socket()',
        'server.bind(("127.0.0.1", 0))',
        'server.listen(16)',
        'port = server.getsockname()[1]',
        'engine = sqlalchemy.create_engine("sqlite:///" + os.path.join(os.environ["APP_DATA"], "app.db"), poolclass=sqlalchemy.pool.QueuePool)',
        'with engine.connect() as connection:',
        '    connection.execute(sqlalchemy.text("select 1"))',
        'cache = redis.Redis(host="127.0.0.1", port=port)',
        'cache.connection_pool.release(cache.connection_pool.get_connection("PING"))',
        'pool = urllib3.PoolManager()',
        'http = pool.connection_from_url(f"http://127.0.0.1:{port}/")',
        'kept = http._get_conn()',
        'kept.connect()',
        'http._put_conn(kept)',
        ...(fixed ? ['engine.dispose()', 'cache.connection_pool.disconnect()', 'pool.clear()'] : []),
        'server.close()',
        'def app(environ, start_response):',
        '    start_response("200 OK", [])',
        '    return [b"ok"]',
        '',
      ].join('\n'),
    }),
    module: 'sqlalchemy, redis, urllib3',
  },
  {
    library: 'an asyncio event loop made at import',
    hints: ['asyncio-loop'],
    files: (fixed: boolean) => ({
      'app.py': [
        'import asyncio',
        'loop = asyncio.new_event_loop()',
        'loop.run_until_complete(asyncio.sleep(0))',
        ...(fixed ? ['loop.close()'] : []),
        'def app(environ, start_response):',
        '    start_response("200 OK", [])',
        '    return [b"ok"]',
        '',
      ].join('\n'),
    }),
    module: 'asyncio',
  },
])('gunicorn --preload with $library', ({ hints, files, module }) => {
  const app = (fixed: boolean) => projectOf(files(fixed));

  test.runIf(pythonHas(module))(
    "the leak gets the library's hint with gunicorn's hook, and the library's fix passes",
    async () => {
      const { report, exitCode } = await checkWith(app(false), () => [...SERVERS.gunicorn]);
      expect(exitCode).toBe(1);
      expect(counted(report).length).toBeGreaterThan(0);
      for (const leak of counted(report)) expect(leak.hint?.text, leak.target).toMatch(/def post_fork/);
      expect(new Set(counted(report).map((leak) => leak.hint?.id))).toEqual(new Set(hints));
      const fixed = await checkWith(app(true), () => [...SERVERS.gunicorn]);
      expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
    },
  );
});

// The fix made where each server's docs put it: the worker's own hook closes what the app opened
// while it loaded. Recognised by following the first worker to its ready point: closing passes,
// with the hook's line; keeping (the same hook doing nothing) fails.
const HOOKS: {
  server: Server;
  files: (close: boolean) => Record<string, string>;
  line: { file: string; line: number };
  leak: string;
}[] = [
  {
    server: 'gunicorn',
    files: (close) => ({
      'app.py':
        'import os, sqlite3\ndb = sqlite3.connect(os.path.join(os.environ["APP_DATA"], "app.db"))\ndef app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n',
      'gunicorn.conf.py': `def post_fork(server, worker):\n    import app\n    ${close ? 'app.db.close()' : 'pass'}\n`,
    }),
    line: { file: 'gunicorn.conf.py', line: 3 },
    leak: 'app.db',
  },
  {
    server: 'celery',
    files: (close) => ({
      'tasks.py': [
        'import os',
        'from celery import Celery',
        'from celery.signals import worker_process_init',
        'app = Celery("tasks", broker="memory://", backend="cache+memory://")',
        'audit = open(os.path.join(os.environ["APP_DATA"], "audit.log"), "a")',
        '@worker_process_init.connect',
        'def close_audit(**kwargs):',
        `    ${close ? 'audit.close()' : 'pass'}`,
        '',
      ].join('\n'),
    }),
    line: { file: 'tasks.py', line: 8 },
    leak: 'audit.log',
  },
  {
    server: 'uwsgi',
    files: (close) => ({
      'app.py': [
        'import os',
        'import uwsgidecorators',
        'audit = open(os.path.join(os.environ["APP_DATA"], "audit.log"), "a")',
        '@uwsgidecorators.postfork',
        'def close_audit():',
        `    ${close ? 'audit.close()' : 'pass'}`,
        'def application(environ, start_response):',
        '    start_response("200 OK", [])',
        '    return [b"ok"]',
        '',
      ].join('\n'),
    }),
    line: { file: 'app.py', line: 6 },
    leak: 'audit.log',
  },
  {
    server: 'unicorn',
    files: (close) => ({
      'config.ru':
        '$audit = File.open(File.join(ENV.fetch("APP_DATA"), "audit.log"), "a")\nrun lambda { |_env| [200, {}, ["ok"]] }\n',
      'unicorn.conf.rb': `listen "127.0.0.1:0"\nworker_processes 2\npreload_app true\nafter_fork do |server, worker|\n  ${close ? '$audit.close' : 'nil'}\nend\n`,
    }),
    line: { file: 'unicorn.conf.rb', line: 5 },
    leak: 'audit.log',
  },
  {
    server: 'puma',
    files: (close) => ({
      'config.ru':
        '$audit = File.open(File.join(ENV.fetch("APP_DATA"), "audit.log"), "a")\nrun lambda { |_env| [200, {}, ["ok"]] }\n',
      'puma.rb': `bind "tcp://127.0.0.1:0"\nworkers 2\npreload_app!\non_worker_boot do\n  ${close ? '$audit.close' : 'nil'}\nend\n`,
    }),
    line: { file: 'puma.rb', line: 5 },
    leak: 'audit.log',
  },
];

describe.each(HOOKS)("$server: the worker's own hook closes what the app opened", ({ server, files, line, leak }) => {
  const app = (close: boolean) => projectOf(files(close));

  test('closing it there passes, and the report names the hook line that closed it', async () => {
    const { report, exitCode, appData } = await checkWith(app(true), () => [...SERVERS[server]]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(report.forkPoint.worker).toMatchObject({ pid: report.forkPoint.workerPid, ready: true });
    const closed = report.leaks.filter((fd) => fd.closedInWorker);
    expect(closed.map((fd) => fd.target)).toEqual([`${appData}/${leak}`]);
    expect(closed[0]!.closedInWorker).toMatchObject({ pid: report.forkPoint.workerPid, origin: line });
  });

  test('keeping it (the hook does nothing) fails with the leak', async () => {
    const { report, exitCode, appData } = await checkWith(app(false), () => [...SERVERS[server]]);
    expect(exitCode).toBe(1);
    expect(report.forkPoint.worker?.ready).toBe(true);
    expect(counted(report).map((fd) => fd.target)).toEqual([`${appData}/${leak}`]);
    expect(report.leaks.filter((fd) => fd.closedInWorker)).toEqual([]);
    // The hint says the fix this test's other half makes.
    expect(counted(report)[0]!.hint?.text).toMatch(/ Closing the inherited copy in .+ also passes this check\.$/);
  });
});

// A Rails app (Debian's ruby-rails 6.1) as `rails new` sets one up for production: zeitwerk
// autoloading (which aliases and redefines Kernel#require), the app eager-loaded by the master.
const RAILS = rubyHas('rails');
const railsApp = (boot: 'clean' | 'leaky' | 'fixed') =>
  projectOf({
    'config/application.rb': [
      'ENV["RAILS_ENV"] ||= "production"',
      'require "rails"',
      'require "active_record/railtie"',
      'require "action_controller/railtie"',
      'class App < Rails::Application',
      '  config.load_defaults 6.1',
      '  config.root = File.expand_path("..", __dir__)',
      '  config.eager_load = true',
      '  config.logger = Logger.new($stdout)',
      '  config.secret_key_base = "not-a-secret" * 8',
      'end',
      '',
    ].join('\n'),
    'config/environment.rb': 'require_relative "application"\nRails.application.initialize!\n',
    'config/database.yml': 'production:\n  adapter: sqlite3\n  database: <%= ENV.fetch("APP_DATA") %>/app.sqlite3\n',
    'app/models/application_record.rb':
      'class ApplicationRecord < ActiveRecord::Base\n  self.abstract_class = true\nend\n',
    'app/models/widget.rb': 'class Widget < ApplicationRecord\nend\n',
    'config.ru': [
      'require_relative "config/environment"',
      ...(boot === 'clean' ? [] : ['ActiveRecord::Base.connection.execute("select 1")']),
      ...(boot === 'fixed' ? ['ActiveRecord::Base.connection_pool.disconnect!'] : []),
      'run Rails.application',
      '',
    ].join('\n'),
    'unicorn.conf.rb': 'listen "127.0.0.1:0"\nworker_processes 2\npreload_app true\n',
    'puma.rb': 'bind "tcp://127.0.0.1:0"\nworkers 2\npreload_app!\n',
  });

describe.runIf(RAILS).each(['unicorn', 'puma'] as const)('Rails 6.1 preloaded by %s', (server) => {
  test('the clean app passes; a query as it boots fails with its database, at its line, with ActiveRecord’s fix, which passes', async () => {
    const clean = await checkWith(railsApp('clean'), () => [...SERVERS[server]]);
    expect(clean.exitCode, JSON.stringify(counted(clean.report))).toBe(0);
    const leaky = await checkWith(railsApp('leaky'), () => [...SERVERS[server]]);
    expect(leaky.exitCode).toBe(1);
    expect(counted(leaky.report).map((fd) => [fd.target, fd.origin?.line, fd.hint?.id])).toEqual([
      [`${leaky.appData}/app.sqlite3`, 2, 'active-record-pool'],
    ]);
    const fixed = await checkWith(railsApp('fixed'), () => [...SERVERS[server]]);
    expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
  });
});

// Celery with a broker that has an event loop (Redis, as most deployments): the worker makes its
// hub's and the transport's epolls, and the async pool its process queues, before its pool forks.
describe.runIf(REDIS)('celery with a Redis broker', () => {
  let redis: { url: string; stop: () => void } | undefined;
  let broker = '';
  beforeAll(async () => {
    redis = await startRedis();
    broker = redis.url;
  });
  afterAll(() => redis?.stop());
  const withBroker = () => [...SERVERS.celery.slice(0, 5), '-b', broker, ...SERVERS.celery.slice(5)];

  test('the fixed example passes: the event loop’s epolls and the async pool’s queues are the worker’s own', async () => {
    const { report, exitCode } = await checkWith(example('celery'), withBroker);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(new Set(allowedRoles(report))).toEqual(
      new Set([
        "preset celery: event loop's epoll (the worker's hub, the broker transport's poller)",
        "preset celery: async pool's process queue pipe",
        "preset celery: pool's shared-memory arena",
        "preset celery: worker's sentinel pipe",
      ]),
    );
  });

  test('started by the celery command of a venv inside the project (.venv/bin/celery): still the worker’s own', async () => {
    const dir = projectOf({
      'tasks.py': readFileSync(join(example('celery'), 'tasks.py'), 'utf8'),
      // What pip writes as a console script, for the venv's interpreter.
      '.venv/bin/celery': [
        '#!/usr/bin/python3',
        'import sys',
        'from celery.__main__ import main',
        "if __name__ == '__main__':",
        '    sys.exit(main())',
        '',
      ].join('\n'),
      '.venv/pyvenv.cfg': 'home = /usr/bin\ninclude-system-site-packages = true\n',
    });
    const { report, exitCode } = await checkWith(dir, () => [
      '/usr/bin/python3',
      '.venv/bin/celery',
      ...withBroker().slice(3),
    ]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(allowedRoles(report)).toContain(
      "preset celery: event loop's epoll (the worker's hub, the broker transport's poller)",
    );
  });

  test('the leaky example fails with exactly its audit log', async () => {
    const { report, exitCode, appData } = await checkWith(join(ROOT, 'examples', 'celery', 'leaky'), withBroker);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => fd.target)).toEqual([`${appData}/audit.log`]);
  });

  test('an epoll a task module makes as the worker imports it is the app’s, and still counts', async () => {
    const dir = projectOf({
      'tasks.py': 'from celery import Celery\napp = Celery("tasks", include=["pollers"])\n',
      'pollers.py': 'from kombu.utils.eventio import poll\npoller = poll()\n',
    });
    const { report, exitCode } = await checkWith(dir, withBroker);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => [fd.kind, fd.origin?.file, fd.origin?.line])).toEqual([
      ['epoll', 'pollers.py', 2],
    ]);
  });
});

// Waiting out the timeout (here two minutes) would end in TIMEOUT: NO_FORK_POINT is said at once.
test.each([
  ['celery --pool=solo', 'celery', () => SERVERS.celery.map((arg) => (arg === '--pool=prefork' ? '--pool=solo' : arg))],
  [
    'celery --pool=threads',
    'celery',
    () => SERVERS.celery.map((arg) => (arg === '--pool=prefork' ? '--pool=threads' : arg)),
  ],
  ['puma in single mode', 'puma', () => ['puma', '-b', 'tcp://127.0.0.1:0', 'config.ru']],
  [
    'uwsgi as a single process (no --master)',
    'uwsgi',
    () =>
      SERVERS.uwsgi.filter(
        (arg, i, all) => arg !== '--master' && arg !== '--processes' && all[i - 1] !== '--processes',
      ),
  ],
  [
    'celery beat',
    'celery',
    (d: string) => ['/usr/bin/python3', '-m', 'celery', '-A', 'tasks', 'beat', '--schedule', `${d}/beat-schedule`],
  ],
] as const)(
  '%s forks no worker: an error saying so as the server says it, not a wait for the timeout',
  async (_name, server, command) => {
    const { report, exitCode } = await checkWith(example(server), command, ['--timeout', '120']);
    expect(exitCode).toBe(2);
    expect(report.error?.code, report.error?.message).toBe('NO_FORK_POINT');
    expect(report.error?.message).toMatch(/forks no worker.*no fork point to check/);
    expect(report.forkPoint.reached).toBe(false);
  },
);

test('uwsgi that cannot load the app goes on serving none: an error naming why, never a pass', async () => {
  const dir = scratch();
  writeFileSync(
    join(dir, 'app.py'),
    'import no_such_module\ndef application(environ, start_response):\n    return []\n',
  );
  const { report, exitCode } = await checkWith(dir, () => [...SERVERS.uwsgi]);
  expect(exitCode).toBe(2);
  expect(report.error).toEqual({ code: 'APP_FAILED', message: expect.stringMatching(/^uWSGI could not load the app/) });
  expect(report.forkPoint.reached).toBe(true);
});

test('uwsgi’s preset excuses what uWSGI made, never an app socket without a line (--no-attribution)', async () => {
  const dir = scratch();
  writeFileSync(
    join(dir, 'app.py'),
    [
      'import socket',
      'stats = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'admin = socket.socket()',
      'admin.bind(("127.0.0.1", 0))',
      'admin.listen()',
      'def application(environ, start_response):',
      '    return []',
      '',
    ].join('\n'),
  );
  const named = await checkWith(dir, () => [...SERVERS.uwsgi]);
  expect(named.exitCode).toBe(1);
  expect(counted(named.report).map((fd) => [fd.target.split(' ')[0], fd.origin?.line])).toEqual([
    ['udp', 2],
    ['tcp', 3],
  ]);
  // Without lines uWSGI's fds and the app's look alike: the preset excuses none, so both sockets count.
  const lineless = await checkWith(dir, () => [...SERVERS.uwsgi], ['--no-attribution']);
  expect(lineless.exitCode).toBe(1);
  expect(lineless.report.leaks.filter((fd) => fd.excuse?.type === 'preset')).toEqual([]);
  expect(lineless.report.forkPoint.notes).toContain(
    "--no-attribution: preset uwsgi sets the fork point only; none of its own fds is told from the app's",
  );
  expect(counted(lineless.report).map((fd) => fd.target)).toEqual(
    expect.arrayContaining(['udp (unbound)', expect.stringMatching(/^tcp 127\.0\.0\.1:\d+$/)]),
  );
});

// RQ forks a work horse for each job its worker takes: a job is queued before each check, and
// --burst makes the worker exit once the queue is empty.
describe.runIf(REDIS && pythonHas('rq'))('rq', () => {
  let redis: { url: string; stop: () => void } | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());
  const enqueue = () =>
    execFileSync('/usr/bin/python3', [
      '-c',
      `from redis import Redis; from rq import Queue; Queue(connection=Redis.from_url(${JSON.stringify(redis!.url)})).enqueue("os.getpid")`,
    ]);
  const worker = "preset rq: worker's Redis connections";

  test('rq worker: the work horse’s fork, though it calls setsid() first; the worker’s own connections are allowed', async () => {
    enqueue();
    const { report, exitCode } = await checkWith(scratch(), () => ['rq', 'worker', '--burst', '--url', redis!.url]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(report.preset?.name).toBe('rq');
    expect(report.forkPoint.description).toMatch(/^fork of worker pid \d+ by pid \d+ \(rq\)$/);
    expect(allowedRoles(report).length).toBeGreaterThan(0);
    expect(new Set(allowedRoles(report))).toEqual(new Set([worker]));
  });

  test('a connection the settings module makes as the worker loads it still counts, at its line', async () => {
    enqueue();
    const dir = projectOf({
      'settings.py': [
        'from redis import Redis',
        `REDIS_URL = ${JSON.stringify(redis!.url)}`,
        'cache = Redis.from_url(REDIS_URL)',
        'cache.ping()',
        '',
      ].join('\n'),
    });
    const { report, exitCode } = await checkWith(dir, () => ['rq', 'worker', '--burst', '-c', 'settings']);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => [fd.kind, fd.origin?.file, fd.origin?.line])).toEqual([
      ['socket', 'settings.py', 4],
    ]);
    expect(allowedRoles(report)).toContain(worker);
  });

  test('an app’s own script calling Worker.work() (--preset rq): its file counts, the worker’s connections do not', async () => {
    enqueue();
    const dir = projectOf({
      'worker.py': [
        'import os',
        'from redis import Redis',
        'audit = open(os.path.join(os.environ["APP_DATA"], "audit.log"), "a")',
        'from rq import Queue, Worker',
        `conn = Redis.from_url(${JSON.stringify(redis!.url)})`,
        'Worker([Queue(connection=conn)], connection=conn).work(burst=True)',
        '',
      ].join('\n'),
    });
    const { report, exitCode, appData } = await checkWith(dir, () => ['/usr/bin/python3', 'worker.py'], [
      '--preset',
      'rq',
    ]);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => [fd.target, fd.origin?.line])).toEqual([[`${appData}/audit.log`, 3]]);
    expect(allowedRoles(report)).toContain(worker);
  });
});

// Debian's Hypercorn (0.13) forks its workers; each loads the app itself.
describe.runIf(findProgram('hypercorn', ROOT) !== undefined)('hypercorn --workers', () => {
  const app = [
    'async def app(scope, receive, send):',
    '    await send({"type": "http.response.start", "status": 200, "headers": []})',
    '    await send({"type": "http.response.body", "body": b"ok"})',
    '',
  ].join('\n');
  const roles = [
    'preset hypercorn: listening socket (--bind, --insecure-bind, --quic-bind)',
    "preset hypercorn: worker processes' pipes (Process.start)",
  ];

  test('its listeners (TCP and unix) and worker pipes are its own: a clean app passes', async () => {
    const dir = projectOf({ 'asgi.py': app });
    const { report, exitCode } = await checkWith(dir, (d) => [
      'hypercorn',
      '--workers',
      '2',
      '--bind',
      '127.0.0.1:0',
      '--bind',
      `unix:${d}/hypercorn.sock`,
      '--access-logfile',
      `${d}/access.log`,
      'asgi:app',
    ]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(report.preset?.name).toBe('hypercorn');
    expect(report.forkPoint.description).toMatch(/^fork of worker pid \d+ by pid \d+ \(hypercorn\)$/);
    expect(new Set(allowedRoles(report))).toEqual(new Set(roles));
    expect(report.leaks.filter((fd) => fd.kind === 'socket').map((fd) => fd.target)).toHaveLength(2);
  });

  test('a file its Python config opens in the master counts, at its line, with the advice to open it in the worker', async () => {
    const dir = projectOf({
      'asgi.py': app,
      'conf.py': [
        'import os',
        'workers = 2',
        'state = open(os.path.join(os.environ["APP_DATA"], "state.txt"), "w")',
        '',
      ].join('\n'),
    });
    const { report, exitCode, appData } = await checkWith(dir, () => [
      'hypercorn',
      '-c',
      'file:conf.py',
      '--bind',
      '127.0.0.1:0',
      'asgi:app',
    ]);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => [fd.target, fd.origin?.file, fd.origin?.line])).toEqual([
      [`${appData}/state.txt`, 'conf.py', 3],
    ]);
    expect(counted(report)[0]!.hint?.text).toMatch(/Hypercorn loads the app in each worker/);
    expect(new Set(allowedRoles(report))).toEqual(new Set(roles));
  });
});

describe('supervisor', () => {
  test('the same log file opened twice for one program fails, as duplicates; everything else is supervisord’s own', async () => {
    const { report, exitCode, appData } = await check('supervisor', 'leaky');
    expect(exitCode).toBe(1);
    expect(report.forkPoint.description).toMatch(/^fork of child pid \d+ by pid \d+ \(supervisord\)$/);
    const leaks = counted(report);
    expect(leaks.map((fd) => fd.target)).toEqual([`${appData}/worker.log`, `${appData}/worker.log`]);
    expect(leaks[0]!.sameTargetAs).toEqual([leaks[1]!.fd]);
    expect(leaks[0]!.origin).toMatchObject({ function: 'FileHandler.__init__', library: true });
    expect(new Set(allowedRoles(report))).toEqual(
      new Set([
        'preset supervisor: control socket',
        'preset supervisor: log file',
        "preset supervisor: program's stdio pipe",
      ]),
    );
  });

  test('supervisord daemonizing (nodaemon=false): followed into the daemon, the same duplicate log found', async () => {
    const leaky = join(ROOT, 'examples', 'supervisor', 'leaky');
    const config = join(scratch(), 'supervisord.conf');
    writeFileSync(
      config,
      readFileSync(join(leaky, 'supervisord.conf'), 'utf8').replace('nodaemon=true', 'nodaemon=false'),
    );
    const { report, exitCode, appData } = await checkWith(leaky, () => ['supervisord', '-c', config]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(1);
    expect(counted(report).map((fd) => fd.target)).toEqual([`${appData}/worker.log`, `${appData}/worker.log`]);
    expect(report.forkPoint.notes).toContainEqual(expect.stringMatching(/^skipped pid \d+: .*daemonizing/));
  });

  test('redirect_stderr: the log is open once, and the check passes', async () => {
    const { exitCode, report } = await check('supervisor', 'fixed');
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
  });

  /** The fixed example's config with these sections added (`%(ENV_APP_DATA)s` is the run's data directory). */
  const supervisorWith = (sections: string) =>
    projectOf({
      'supervisord.conf': `${readFileSync(join(example('supervisor'), 'supervisord.conf'), 'utf8')}\n${sections}`,
    });

  // Each is the first program started (priority=1): supervisord makes a program's fds as it spawns it.
  for (const socket of ['tcp://127.0.0.1:{port}', 'unix://%(ENV_APP_DATA)s/fcgi.sock'])
    test(`[fcgi-program] socket=${socket.split(':')[0]}: the socket supervisord binds for the program is its own`, async () => {
      const dir = supervisorWith(
        [
          '[fcgi-program:fcgi]',
          `socket=${socket.replace('{port}', String(await freePort()))}`,
          'command=sleep 30',
          'numprocs=2',
          'process_name=%(program_name)s_%(process_num)d',
          'priority=1',
        ].join('\n'),
      );
      const { report, exitCode } = await checkWith(dir, () => [...SERVERS.supervisor]);
      expect(exitCode, JSON.stringify(counted(report))).toBe(0);
      const fcgi = report.leaks.filter((fd) => fd.allowedBy === 'preset supervisor: FastCGI socket ([fcgi-program])');
      expect(fcgi.map((fd) => fd.target.split(' ')[0])).toEqual([socket.split(':')[0]]);
    });

  test('logs on devices, as in a container (logfile=/dev/null, stdout_logfile=/dev/stdout): its own, however many', async () => {
    const dir = supervisorWith(
      [
        '[program:container]',
        'command=sleep 30',
        'priority=1',
        'stdout_logfile=/dev/stdout',
        'stdout_logfile_maxbytes=0',
        'stderr_logfile=/dev/null',
        'stderr_logfile_maxbytes=0',
      ].join('\n'),
    );
    const config = join(dir, 'supervisord.conf');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(/^logfile=.*$/m, 'logfile=/dev/null\nlogfile_maxbytes=0'),
    );
    const { report, exitCode } = await checkWith(dir, () => [...SERVERS.supervisor]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    const devices = report.leaks.filter((fd) => fd.kind === 'device');
    expect(devices.map((fd) => [fd.target, fd.allowedBy])).toEqual([
      ['/dev/null', 'preset supervisor: log file'],
      ['/dev/null', 'preset supervisor: log file'],
    ]);
    // The same regular file opened twice still fails: see the leaky example above.
  });
});

describe('unicorn (Ruby: source lines from the Ruby bootstrap)', () => {
  test("the leaky example fails with exactly its audit log and its own pipe, each at its line; unicorn's fds are allowed by what made them", async () => {
    const { report, exitCode, appData } = await check('unicorn', 'leaky');
    expect(exitCode).toBe(1);
    const leaks = counted(report);
    // Lines 3 and 4 of config.ru, as an editor numbers them, though unicorn evals the file one
    // line down (its own backtraces are off by one).
    expect(leaks.map((fd) => `${fd.kind} ${fd.origin?.file}:${fd.origin?.line}`)).toEqual([
      'file config.ru:3',
      'pipe config.ru:4',
      'pipe config.ru:4',
    ]);
    expect(leaks[0]!.origin!.line).toBe(markedLine(join(ROOT, 'examples', 'unicorn', 'leaky', 'config.ru')));
    expect(leaks[0]!.target).toBe(`${appData}/audit.log`);
    expect(new Set(allowedRoles(report))).toEqual(
      new Set([
        'preset unicorn: listening socket',
        'preset unicorn: self-pipe or worker pipe',
        "the Ruby VM's own eventfd, made as it starts and made anew in each forked child",
      ]),
    );
  });

  test('the fixed example passes, with a production config: pid file, stderr_path and stdout_path', async () => {
    const { exitCode, report, appData } = await check('unicorn', 'fixed');
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(existsSync(join(appData, 'unicorn.stderr.log'))).toBe(true);
  });
});

describe('puma (cluster mode, preload_app!)', () => {
  test("the leaky example fails with exactly its audit log, at its line; puma's listener and pipes are allowed by what made them", async () => {
    const { report, exitCode, appData } = await check('puma', 'leaky');
    expect(exitCode).toBe(1);
    expect(report.preset).toEqual({ name: 'puma', detected: true });
    const leaks = counted(report);
    expect(leaks.map((fd) => `${fd.target} ${fd.origin?.file}:${fd.origin?.line}`)).toEqual([
      `${appData}/audit.log config.ru:${markedLine(join(ROOT, 'examples/puma/leaky/config.ru'))}`,
    ]);
    expect(new Set(allowedRoles(report))).toEqual(
      new Set([
        'preset puma: listening socket',
        "preset puma: cluster's pipes (wakeup, fork, suicide, worker status)",
        "the Ruby VM's own eventfd, made as it starts and made anew in each forked child",
      ]),
    );
  });

  test('the fixed example passes, with a production config: pid file, state file and a control app', async () => {
    const { exitCode, report, appData } = await check('puma', 'fixed');
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(existsSync(join(appData, 'puma.pid'))).toBe(true);
    // The control app's listener is puma's own too.
    expect(
      report.leaks.filter((leak) => leak.allowedBy === 'preset puma: listening socket').map((leak) => leak.target),
    ).toContain(`unix ${appData}/pumactl.sock`);
  });
});

/** A server run from `cwd` with extra flags, its files in a fresh APP_DATA directory. */
/** A scratch directory holding these files (name → text). */
function projectOf(files: Record<string, string>): string {
  const dir = scratch();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function checkWith(
  cwd: string,
  command: (appData: string) => string[],
  flags: string[] = [],
): Promise<{ report: Report; exitCode: number; appData: string }> {
  const appData = scratch();
  const run = await runCli([...flags, '--', ...command(appData)], { cwd, env: { APP_DATA: appData } });
  expect(run.report, run.stderr).toBeDefined();
  expect(await settle(() => processesWithEnv('APP_DATA', appData)), 'server processes left running').toEqual([]);
  return { report: run.report!, exitCode: run.exitCode, appData };
}

const example = (server: Server) => join(ROOT, 'examples', server, 'fixed');

describe('clean production configs: the server’s own log and pid files pass, by their role', () => {
  const gunicornLog = 'preset gunicorn: log file (--access-logfile, --error-logfile, --capture-output, --log-config)';

  test('gunicorn --access-logfile --error-logfile --capture-output --pid --statsd-host', async () => {
    const { report, exitCode } = await checkWith(example('gunicorn'), (d) => [
      ...SERVERS.gunicorn.slice(0, -1),
      '--access-logfile',
      `${d}/access.log`,
      '--error-logfile',
      `${d}/error.log`,
      '--capture-output',
      '--pid',
      `${d}/gunicorn.pid`,
      '--statsd-host',
      '127.0.0.1:8125',
      'app:app',
    ]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    // The access log, the error log's handler, and the error log --capture-output keeps for stdout and stderr.
    expect(allowedRoles(report).filter((role) => role.includes('log file'))).toEqual(Array(3).fill(gunicornLog));
    expect(allowedRoles(report)).toContain('preset gunicorn: statsd socket (--statsd-host)');
  });

  // The worker class is imported by the master: its modules must add no fd there beyond the ones
  // the preset names (eventlet's hub).
  for (const [name, flags, module] of [
    ['gthread', ['--threads', '4'], 'threading'],
    ['gevent', ['--worker-class', 'gevent'], 'gevent'],
    ['uvicorn', ['--worker-class', 'uvicorn.workers.UvicornWorker'], 'uvicorn'],
    ['eventlet', ['--worker-class', 'eventlet'], 'eventlet'],
  ] as const)
    test.runIf(pythonHas(module))(
      `gunicorn worker class ${name}: the fixed example passes, the leaky one fails with exactly its leak`,
      async () => {
        const command = () => [...SERVERS.gunicorn.slice(0, -1), ...flags, 'app:app'];
        const fixed = await checkWith(example('gunicorn'), command);
        expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
        const leaky = await checkWith(join(ROOT, 'examples', 'gunicorn', 'leaky'), command);
        expect(leaky.exitCode).toBe(1);
        expect(counted(leaky.report).map((fd) => `${fd.kind} ${fd.target}`)).toEqual([`file ${leaky.appData}/app.db`]);
      },
    );

  test.runIf(pythonHas('eventlet'))('gunicorn -k eventlet: a hub the app makes as it loads still counts', async () => {
    const dir = projectOf({
      'app.py':
        'from eventlet.hubs import epolls\nhub = epolls.Hub()\ndef app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n',
    });
    const { report, exitCode } = await checkWith(dir, () => [
      ...SERVERS.gunicorn.slice(0, -1),
      '--worker-class',
      'eventlet',
      'app:app',
    ]);
    expect(exitCode).toBe(1);
    expect(counted(report).map((fd) => [fd.kind, fd.origin?.file, fd.origin?.line])).toEqual([['epoll', 'app.py', 2]]);
    expect(allowedRoles(report)).toContain(
      "preset gunicorn: eventlet's hub, made as the worker class loads (-k eventlet)",
    );
  });

  test('gunicorn --daemon: followed into the daemon and checked at its worker fork, leak and all', async () => {
    const daemon = (d: string) => [
      ...SERVERS.gunicorn.slice(0, -1),
      '--daemon',
      '--pid',
      `${d}/gunicorn.pid`,
      'app:app',
    ];
    const fixed = await checkWith(example('gunicorn'), daemon);
    expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
    expect(fixed.report.forkPoint.reached).toBe(true);
    // The two forks of daemonizing are passed over: they are not the worker fork.
    expect(fixed.report.forkPoint.notes.filter((note) => note.startsWith('skipped pid'))).toHaveLength(2);
    const leaky = await checkWith(join(ROOT, 'examples', 'gunicorn', 'leaky'), daemon);
    expect(leaky.exitCode).toBe(1);
    expect(counted(leaky.report).map((fd) => `${fd.kind} ${fd.target}`)).toEqual([`file ${leaky.appData}/app.db`]);
  });

  test('uwsgi --daemonize and unicorn -D: the daemon’s worker fork, not the forks of daemonizing', async () => {
    const uwsgi = (d: string) => [...SERVERS.uwsgi, '--daemonize', `${d}/uwsgi.log`];
    const fixed = await checkWith(example('uwsgi'), uwsgi);
    expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
    // At the worker fork the master holds its socketpairs, which it makes after daemonizing.
    expect(allowedRoles(fixed.report)).toContain("preset uwsgi: master's socketpair");
    expect(fixed.report.forkPoint.notes.filter((note) => note.startsWith('skipped pid'))).toHaveLength(2);
    const leaky = await checkWith(join(ROOT, 'examples', 'uwsgi', 'leaky'), uwsgi);
    expect(leaky.exitCode).toBe(1);
    expect(counted(leaky.report).map((fd) => fd.kind)).toEqual(['socket']);

    const unicorn = await checkWith(example('unicorn'), () => [...SERVERS.unicorn.slice(0, -1), '-D', 'config.ru']);
    // The daemon's VM made its eventfds anew at each fork: still the VM's own.
    expect(unicorn.exitCode, JSON.stringify(counted(unicorn.report))).toBe(0);
    expect(unicorn.report.forkPoint.notes.filter((note) => note.startsWith('skipped pid'))).toHaveLength(2);
  });

  test('watch gunicorn --daemon: the daemon and its workers are sampled', async () => {
    const port = await freePort();
    const appData = scratch();
    const run = await runCli(
      [
        'watch',
        '--request',
        `http://127.0.0.1:${port}/`,
        '--requests',
        '5',
        '--',
        'gunicorn',
        '--daemon',
        '--workers',
        '2',
        '--bind',
        `127.0.0.1:${port}`,
        'app:app',
      ],
      { cwd: example('gunicorn'), env: { APP_DATA: appData } },
    );
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    // The arbiter and its two workers; the process started exited once it had daemonized.
    expect(run.stdout.match(/^ {2}pid \d+ \S*gunicorn /gm)).toHaveLength(3);
    expect(await settle(() => processesWithEnv('APP_DATA', appData)), 'server processes left running').toEqual([]);
  });

  test('gunicorn started through env and sh -c: still detected, still its worker fork and its leak', async () => {
    const leaky = join(ROOT, 'examples', 'gunicorn', 'leaky');
    const wrapped = await checkWith(leaky, (d) => [
      'env',
      `APP_DATA=${d}`,
      'sh',
      '-c',
      `cd ${leaky} && exec ${SERVERS.gunicorn.join(' ')}`,
    ]);
    expect(wrapped.report.preset).toEqual({ name: 'gunicorn', detected: true });
    expect(wrapped.exitCode).toBe(1);
    expect(counted(wrapped.report).map((fd) => `${fd.kind} ${fd.target}`)).toEqual([`file ${wrapped.appData}/app.db`]);
  });

  test("a config's forkMarker does not override the preset of a gunicorn command typed on the command line", async () => {
    // A project config (in a parent directory) whose marker is for another app of the project.
    const dir = scratch();
    cpSync(join(ROOT, 'examples', 'gunicorn', 'leaky'), join(dir, 'web'), { recursive: true });
    writeFileSync(join(dir, 'pyproject.toml'), '[project]\nname = "web"\n');
    writeFileSync(join(dir, 'prefork-check.config.json'), '{\n  "forkMarker": "READY",\n  "timeout": 20\n}\n');
    const appData = scratch();
    const run = await runCli(['--update-baseline', '--', ...SERVERS.gunicorn], {
      cwd: join(dir, 'web'),
      env: { APP_DATA: appData },
    });
    expect(run.report!.forkPoint.mode, run.stdout + run.stderr).toBe('first-fork');
    expect(run.exitCode).toBe(0); // the leak is recorded in the new baseline
    expect(run.stdout).toContain(`config: ${join(dir, 'prefork-check.config.json')} (gives timeout (line 3))`);
    expect(await settle(() => processesWithEnv('APP_DATA', appData))).toEqual([]);
  });

  test('gunicorn --log-config: the handlers of its logging config', async () => {
    const { report, exitCode } = await checkWith(example('gunicorn'), (d) => {
      writeFileSync(
        `${d}/logging.ini`,
        [
          '[loggers]\nkeys=root\n[handlers]\nkeys=file\n[formatters]\nkeys=plain',
          '[logger_root]\nlevel=INFO\nhandlers=file',
          `[handler_file]\nclass=FileHandler\nformatter=plain\nargs=('${d}/app.log', 'a')`,
          '[formatter_plain]\nformat=%(message)s\n',
        ].join('\n'),
      );
      return [...SERVERS.gunicorn.slice(0, -1), '--log-config', `${d}/logging.ini`, 'app:app'];
    });
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(allowedRoles(report).filter((role) => role.includes('log file'))).toEqual([gunicornLog]);
  });

  test('celery -B: the embedded beat, when forked before the pool, is passed over for the pool’s fork', async () => {
    const { report, exitCode } = await checkWith(example('celery'), (d) => [
      ...SERVERS.celery,
      '-B',
      '--schedule',
      `${d}/beat-schedule`,
    ]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    // At the pool's fork the pool's own pipes exist; at the beat's they did not yet. (Which
    // of the two celery forks first varies from run to run: most often the beat.)
    expect(allowedRoles(report).filter((role) => role.includes("pool's task queue pipe"))).toHaveLength(4);
    for (const note of report.forkPoint.notes)
      expect(note).toMatch(/^skipped pid \d+: forked by .*billiard\/popen_fork\.py/);
  });

  test('celery --logfile --pidfile --statedb (three handlers on one file, and the state shelve)', async () => {
    const { report, exitCode } = await checkWith(example('celery'), (d) => [
      ...SERVERS.celery,
      '--logfile',
      `${d}/celery.log`,
      '--pidfile',
      `${d}/celery.pid`,
      '--statedb',
      `${d}/celery.state`,
    ]);
    expect(exitCode, JSON.stringify(counted(report))).toBe(0);
    expect(allowedRoles(report).filter((role) => role.includes('log file'))).toEqual(
      Array(3).fill('preset celery: log file (--logfile)'),
    );
    expect(allowedRoles(report)).toContain('preset celery: persistent state database (--statedb)');
  });

  test('logs sent to /dev/null (gunicorn, celery) are the server’s own; the app’s own /dev/null still counts', async () => {
    const dir = projectOf({
      'app.py': [
        'import os',
        'quiet = open(os.devnull, "w")  # leak',
        'def app(environ, start_response):',
        '    start_response("200 OK", [])',
        '    return [b"ok"]',
        '',
      ].join('\n'),
    });
    const gunicorn = await checkWith(dir, () => [
      ...SERVERS.gunicorn.slice(0, -1),
      '--access-logfile',
      '/dev/null',
      '--error-logfile',
      '/dev/null',
      'app:app',
    ]);
    expect(gunicorn.exitCode).toBe(1);
    expect(counted(gunicorn.report).map((leak) => [leak.target, leak.origin?.file, leak.origin?.line])).toEqual([
      ['/dev/null', 'app.py', 2],
    ]);
    expect(allowedRoles(gunicorn.report).filter((role) => role === gunicornLog)).toHaveLength(2);
    const celery = await checkWith(example('celery'), () => [...SERVERS.celery, '--logfile', '/dev/null']);
    expect(celery.exitCode, JSON.stringify(counted(celery.report))).toBe(0);
    expect(allowedRoles(celery.report).filter((role) => role.includes('log file'))).toEqual(
      Array(3).fill('preset celery: log file (--logfile)'),
    );
  });

  // Debian's uWSGI binary is uwsgi-core, linked as uwsgi and uwsgi_python3; the emperor starts each
  // vassal by the binary's own path.
  test('uwsgi --emperor (its vassal runs as uwsgi-core) and uwsgi_python3: uWSGI’s own fds, the app’s leak at its line', async () => {
    const vassal = (variant: 'leaky' | 'fixed') => (d: string) => {
      mkdirSync(`${d}/vassals`, { recursive: true });
      const ini = ['[uwsgi]', 'plugin = python3', 'master = true', 'processes = 2', 'http-socket = 127.0.0.1:0'];
      writeFileSync(
        `${d}/vassals/app.ini`,
        [
          ...ini,
          `chdir = ${join(ROOT, 'examples', 'uwsgi', variant)}`,
          'wsgi-file = app.py',
          'disable-logging = true',
          '',
        ].join('\n'),
      );
      return ['uwsgi', '--emperor', `${d}/vassals`];
    };
    const leaky = await checkWith(join(ROOT, 'examples', 'uwsgi', 'leaky'), vassal('leaky'));
    expect(leaky.exitCode).toBe(1);
    expect(leaky.report.forkPoint.program).toMatch(/uwsgi-core$/);
    expect(counted(leaky.report).map((fd) => [fd.kind, fd.origin?.file, fd.origin?.line])).toEqual([
      ['socket', 'app.py', markedLine(join(ROOT, 'examples', 'uwsgi', 'leaky', 'app.py'))],
    ]);
    expect(allowedRoles(leaky.report)).toContain('preset uwsgi: listening socket');

    const fixed = await checkWith(example('uwsgi'), vassal('fixed'));
    expect(fixed.exitCode, JSON.stringify(counted(fixed.report))).toBe(0);
    expect(new Set(allowedRoles(fixed.report))).toEqual(
      new Set(['preset uwsgi: listening socket', "preset uwsgi: master's socketpair"]),
    );

    const named = await checkWith(example('uwsgi'), () => ['uwsgi_python3', ...SERVERS.uwsgi.slice(3)]);
    expect(named.report.preset?.name).toBe('uwsgi');
    expect(named.exitCode, JSON.stringify(counted(named.report))).toBe(0);
  });

  test('uwsgi --logto, and --logger file: (which keeps a dup of stdout)', async () => {
    const logto = await checkWith(example('uwsgi'), (d) => [
      ...SERVERS.uwsgi,
      '--logto',
      `${d}/uwsgi.log`,
      '--pidfile',
      `${d}/uwsgi.pid`,
    ]);
    expect(logto.exitCode, JSON.stringify(counted(logto.report))).toBe(0);
    const logger = await checkWith(example('uwsgi'), (d) => [
      'uwsgi',
      '--plugin',
      'python3,logfile',
      ...SERVERS.uwsgi.slice(3),
      '--logger',
      `file:${d}/uwsgi.log`,
    ]);
    expect(logger.exitCode, JSON.stringify(counted(logger.report))).toBe(0);
    const dup = logger.report.leaks.filter((leak) => leak.stdio !== undefined);
    expect(dup.map((leak) => [leak.stdio, leak.allowedBy])).toEqual([
      ['stdout', "a duplicate of the app's stdout, which workers share anyway"],
    ]);
  });

  test('uwsgi --log-master: the master keeps a dup of where it logs (--logto file or UDP, --daemonize); an app’s dup still counts', async () => {
    const port = await freePort();
    const places = [
      (d: string) => ['--logto', `${d}/uwsgi.log`],
      () => ['--logto', `127.0.0.1:${port}`],
      (d: string) => ['--daemonize', `${d}/uwsgi.log`],
    ];
    for (const place of places) {
      const { report, exitCode } = await checkWith(example('uwsgi'), (d) => [
        ...SERVERS.uwsgi,
        '--log-master',
        ...place(d),
      ]);
      expect(exitCode, JSON.stringify(counted(report))).toBe(0);
      expect(allowedRoles(report)).toContain("preset uwsgi: master's log output (--log-master)");
    }
    const dir = projectOf({
      'app.py': [
        'import os',
        'audit = open(os.path.join(os.environ["APP_DATA"], "audit.log"), "a")',
        'copy = os.dup(audit.fileno())',
        'audit.close()',
        'def application(environ, start_response):',
        '    return []',
        '',
      ].join('\n'),
    });
    const leaky = await checkWith(dir, (d) => [...SERVERS.uwsgi, '--log-master', '--logto', `${d}/uwsgi.log`]);
    expect(leaky.exitCode).toBe(1);
    expect(counted(leaky.report).map((fd) => [fd.target, fd.origin?.line])).toEqual([
      [`${leaky.appData}/audit.log`, 3],
    ]);
  });

  test('an app that opens the same path as gunicorn’s access log is still reported, at its line', async () => {
    const dir = scratch();
    writeFileSync(
      join(dir, 'app.py'),
      [
        'import os',
        'audit = open(os.path.join(os.environ["APP_DATA"], "access.log"), "a")  # leak',
        'def app(environ, start_response):',
        '    start_response("200 OK", [])',
        '    return [b"ok"]',
        '',
      ].join('\n'),
    );
    const { report, exitCode, appData } = await checkWith(dir, (d) => [
      ...SERVERS.gunicorn.slice(0, -1),
      '--access-logfile',
      `${d}/access.log`,
      'app:app',
    ]);
    expect(exitCode).toBe(1);
    expect(counted(report).map((leak) => [leak.target, leak.origin?.file, leak.origin?.line])).toEqual([
      [`${appData}/access.log`, 'app.py', 2],
    ]);
    expect(allowedRoles(report)).toContain(gunicornLog);
  });
});

// The app starts a helper process while it loads (a multiprocessing Manager), then opens a file:
// the helper's fork is the app's, not the server's, and the file opened after it is still a leak.
describe('an app that forks a helper while it loads: the fork point is still the server’s worker fork', () => {
  const app = (callable: string) =>
    [
      'import multiprocessing, os',
      'helper = multiprocessing.Manager()',
      'log = open(os.path.join(os.environ["APP_DATA"], "after-helper.log"), "a")',
      'celery_app = None',
      'if os.environ.get("CELERY_APP"):',
      '    from celery import Celery',
      '    celery_app = Celery("app", broker="memory://", backend="cache+memory://")',
      `def ${callable}(environ, start_response):`,
      '    start_response("200 OK", [])',
      '    return [b"ok"]',
      '',
    ].join('\n');

  test.each<{ server: string; command: string[]; file: string; callable: string; env: Record<string, string> }>([
    { server: 'gunicorn', command: [...SERVERS.gunicorn], file: 'app.py', callable: 'app', env: {} },
    { server: 'uwsgi', command: [...SERVERS.uwsgi], file: 'app.py', callable: 'application', env: {} },
    {
      server: 'celery',
      command: [...SERVERS.celery.slice(0, 4), 'app.celery_app', ...SERVERS.celery.slice(5)],
      file: 'app.py',
      callable: 'app',
      env: { CELERY_APP: '1' },
    },
  ])('$server', async ({ server, command, file, callable, env }) => {
    const dir = scratch();
    writeFileSync(join(dir, file), app(callable));
    const appData = scratch();
    const run = await runCli(['--', ...command], { cwd: dir, env: { APP_DATA: appData, ...env } });
    expect(await settle(() => processesWithEnv('APP_DATA', appData)), 'server processes left running').toEqual([]);
    const report = run.report!;
    expect(report.forkPoint.notes.join('\n')).toMatch(
      /skipped pid \d+: forked by .* at app\.py:2, not by the server's worker fork/,
    );
    const leaks = counted(report).map((leak) => `${leak.kind} ${leak.origin?.line}`);
    // The file opened after the helper, and the app's end of the helper's connection.
    expect(leaks.filter((leak) => leak.startsWith('file'))).toEqual(['file 3']);
    expect(leaks.filter((leak) => leak.startsWith('pipe') || leak.startsWith('socket')).length).toBeGreaterThan(0);
    expect(run.exitCode, `${server}: ${JSON.stringify(counted(report))}`).toBe(1);
  });

  // Without attribution no stack tells the app's fork from the server's: the first worker fork
  // counts, as the README says, and a helper that waits in accept() is decided at once.
  test('gunicorn with --no-attribution: the helper’s fork is the first worker fork, decided, not timed out', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'app.py'), app('app'));
    const appData = scratch();
    const run = await runCli(['--no-attribution', '--timeout', '20', '--', ...SERVERS.gunicorn], {
      cwd: dir,
      env: { APP_DATA: appData },
    });
    expect(await settle(() => processesWithEnv('APP_DATA', appData))).toEqual([]);
    expect(run.report!.forkPoint.reached, run.stdout + run.stderr).toBe(true);
    expect(run.report!.durationMs).toBeLessThan(15_000);
  });

  // A Ruby helper that only sleeps: its fork is passed over at once, not left undecided.
  test.each([
    { server: 'unicorn', command: [...SERVERS.unicorn], config: 'unicorn.conf.rb' },
    { server: 'puma', command: [...SERVERS.puma], config: 'puma.rb' },
  ] as const)('$server, with a helper that only sleeps', async ({ server, command, config }) => {
    const dir = scratch();
    cpSync(join(ROOT, 'examples', server, 'fixed', config), join(dir, config));
    writeFileSync(
      join(dir, 'config.ru'),
      [
        'helper = fork { sleep 60 }',
        '$log = File.open(File.join(ENV.fetch("APP_DATA"), "after-helper.log"), "a")',
        'run lambda { |_env| [200, { "content-type" => "text/plain" }, ["ok"]] }',
        '',
      ].join('\n'),
    );
    const appData = scratch();
    const run = await runCli(['--', ...command], { cwd: dir, env: { APP_DATA: appData } });
    expect(await settle(() => processesWithEnv('APP_DATA', appData)), 'server processes left running').toEqual([]);
    const report = run.report!;
    expect(report.forkPoint.notes.join('\n')).toMatch(
      /skipped pid \d+: forked by .* at config\.ru:\d, not by the server's worker fork/,
    );
    expect(counted(report).map((leak) => leak.target)).toEqual([`${appData}/after-helper.log`]);
    expect(run.exitCode).toBe(1);
  });
});
