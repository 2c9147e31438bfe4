import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { findProgram } from '../launch/find-program.js';
import { isShell, isShellName } from '../fork-point/program-kind.js';
import { makingFrames } from '../attribution/describe-origin.js';
import type { ForkPointSpec } from '../fork-point/spec.js';
import type { FdRecord } from '../report/types.js';

export const PRESET_NAMES = [
  'gunicorn',
  'celery',
  'uwsgi',
  'supervisor',
  'unicorn',
  'puma',
  'multiprocessing',
  'tornado',
  'rq',
  'hypercorn',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** One kind of fd a server makes for itself, recognised by how it was made. */
export interface ServerFd {
  role: string;
  matches(record: FdRecord): boolean;
}

/** What prefork-check knows about a pre-fork server: its fork point and its own fds. */
export interface Preset {
  name: PresetName;
  /**
   * The program names that start it (`gunicorn`, or `python3 -m gunicorn`; `uwsgi_*`: any name
   * that begins so); none: named by --preset only.
   */
  programs: string[];
  forkPoint: ForkPointSpec;
  ownFds: ServerFd[];
  /**
   * What the server says when it could not load the app and goes on serving none: a fork point
   * reached then says nothing about the app, so the check is an error, with `advice`.
   */
  noApp?: { words: string; advice: string };
  /**
   * What the server says when it will fork no worker (Celery's solo or thread pool, Puma's single
   * mode): its fork point never comes, so a check at it ends then, an error with `advice`, instead
   * of waiting out its timeout.
   */
  noWorkers?: { says: RegExp; advice: string };
}

/** Made with `module:function` on the Python stack. */
export const madeIn = (site: string) => (record: FdRecord) =>
  record.stack.some((frame) => `${frame.module}:${frame.function}` === site);

/** Made by `module:function` itself: the innermost frame of the stack. */
const madeDirectlyBy = (site: string) => (record: FdRecord) =>
  record.stack[0] !== undefined && `${record.stack[0].module}:${record.stack[0].function}` === site;

/**
 * Made by the server's code at `module:function` or code it called, below any frame of the app's:
 * not by an app module it imported there, nor by an app's method it called.
 */
const madeUnder = (site: string) => (record: FdRecord) =>
  makingFrames(record.stack).some((frame) => `${frame.module}:${frame.function}` === site);

const RQ_WORKER_SITES = ['rq.cli.cli:worker', 'rq.worker:Worker.__init__', 'rq.worker:Worker.work'];

/** Whether a program's name is one of `programs` (an entry ending in `*` names a prefix). */
function isOneOf(programs: string[], name: string): boolean {
  return programs.some((program) => (program.endsWith('*') ? name.startsWith(program.slice(0, -1)) : name === program));
}

/** Made by the server's own native code (no Python line), with this syscall. */
const madeNatively = (programs: string[], syscall: string) => (record: FdRecord) =>
  record.origin === null &&
  record.createdBy.type === 'syscall' &&
  record.createdBy.syscall === syscall &&
  isOneOf(programs, basename(record.createdBy.program));

// Debian installs uWSGI as uwsgi-core, linked as uwsgi and uwsgi_python3 (uwsgi_python311, uwsgi_rack,
// ...); the emperor starts its vassals by the binary's own path.
const UWSGI = ['uwsgi', 'uwsgi-core', 'uwsgi_*'];

/** Where a server's log option can point: a file, or a device or fifo (`/dev/null`, `/dev/console`, a fifo a collector reads). */
const isLogOutput = (record: FdRecord) => record.kind === 'file' || record.kind === 'device' || record.kind === 'fifo';

const PRESETS: Record<PresetName, Preset> = {
  gunicorn: {
    name: 'gunicorn',
    programs: ['gunicorn'],
    // The arbiter's worker fork, not a process the app forks while it loads (a multiprocessing Manager).
    forkPoint: { mode: 'first-fork', serverFork: 'gunicorn.arbiter:Arbiter.spawn_worker' },
    ownFds: [
      { role: 'listening socket', matches: (r) => r.kind === 'socket' && madeIn('gunicorn.sock:create_sockets')(r) },
      {
        role: "arbiter's signal pipe",
        matches: (r) => r.kind === 'pipe' && madeIn('gunicorn.arbiter:Arbiter.init_signals')(r),
      },
      {
        role: "worker's heartbeat file",
        matches: (r) => r.kind === 'file' && madeIn('gunicorn.workers.workertmp:WorkerTmp.__init__')(r),
      },
      // The log outputs its options configure, opened by the arbiter before the app loads:
      // --access-logfile and --error-logfile (_set_handler), --capture-output's copy of the error
      // log, and the handlers of --log-config and --log-config-dict (all under Logger.setup).
      {
        role: 'log file (--access-logfile, --error-logfile, --capture-output, --log-config)',
        matches: (r) =>
          isLogOutput(r) &&
          (madeIn('gunicorn.glogging:Logger.setup')(r) || madeIn('gunicorn.glogging:Logger._set_handler')(r)),
      },
      {
        role: 'statsd socket (--statsd-host)',
        matches: (r) => r.kind === 'socket' && madeIn('gunicorn.instrument.statsd:Statsd.__init__')(r),
      },
      {
        role: 'syslog socket (--log-syslog)',
        matches: (r) => r.kind === 'socket' && madeIn('gunicorn.glogging:Logger._set_syslog_handler')(r),
      },
      // -k eventlet: importing eventlet makes its hub (an epoll) as the arbiter loads the worker
      // class; each worker discards it for a hub of its own (use_hub). Never a hub the app made.
      {
        role: "eventlet's hub, made as the worker class loads (-k eventlet)",
        matches: (r) =>
          r.kind === 'epoll' &&
          r.origin?.library === true &&
          madeIn('eventlet.hubs.epolls:Hub.__init__')(r) &&
          madeIn('gunicorn.config:Config.worker_class')(r),
      },
    ],
  },
  celery: {
    name: 'celery',
    programs: ['celery'],
    // The pool's fork: not another billiard process started first (-B's embedded beat).
    forkPoint: { mode: 'first-fork', serverFork: 'billiard.pool:Pool._create_worker_process' },
    // The banner's concurrency line ends with the pool's module: these four fork no process.
    noWorkers: {
      // A worker's banner names its pool; `celery beat` (a scheduler alone) announces itself.
      says: /\.> concurrency: [^\n]*\((solo|thread|gevent|eventlet)\)\r?\n|^celery beat v\S+ .*is starting\./m,
      advice:
        "Celery forks no worker here: its pool forks none (the banner's concurrency line names it), or it runs celery beat, which only sends tasks, so there is no fork point to check. Check the worker with --pool=prefork (the default), or declare a fork point of the app's own with --fork-marker.",
    },
    ownFds: [
      {
        role: "pool's task queue pipe",
        matches: (r) => r.kind === 'pipe' && madeIn('billiard.pool:Pool._setup_queues')(r),
      },
      {
        role: "pool's shared-memory arena",
        matches: (r) => r.kind === 'file' && madeIn('billiard.heap:Arena.__init__')(r),
      },
      {
        role: "worker's sentinel pipe",
        matches: (r) => r.kind === 'pipe' && madeIn('billiard.popen_fork:Popen._launch')(r),
      },
      // A broker with an event loop (Redis, RabbitMQ): the async pool makes each process's queues up front.
      {
        role: "async pool's process queue pipe",
        matches: (r) => r.kind === 'pipe' && madeIn('celery.concurrency.asynpool:AsynPool.create_process_queues')(r),
      },
      // The worker's hub and its broker transport's poller (kombu's), made by the worker's own
      // setup: never one an app's module made as the worker imported it (an app frame on the stack).
      {
        role: "event loop's epoll (the worker's hub, the broker transport's poller)",
        matches: (r) =>
          r.kind === 'epoll' &&
          r.origin?.library === true &&
          madeIn('kombu.utils.eventio:_epoll.__init__')(r) &&
          madeIn('celery.worker.worker:WorkController.__init__')(r),
      },
      // --logfile: one handler per logger (celery, celery.task, the root), each its own fd on the file.
      {
        role: 'log file (--logfile)',
        matches: (r) => isLogOutput(r) && madeIn('celery.app.log:Logging._detect_handler')(r),
      },
      // --statedb: the revoked-task state the main process keeps in a shelve database.
      {
        role: 'persistent state database (--statedb)',
        matches: (r) => r.kind === 'file' && madeIn('celery.worker.state:Persistent.open')(r),
      },
    ],
  },
  uwsgi: {
    name: 'uwsgi',
    programs: UWSGI,
    // uWSGI's master forks its workers in C: a fork a Python call announced is the app's own.
    forkPoint: { mode: 'first-fork', serverFork: 'native' },
    noApp: {
      words: '*** no app loaded. going in full dynamic mode ***',
      advice:
        'uWSGI could not load the app and went on serving none (full dynamic mode); its output above says why. --need-app makes uWSGI exit instead.',
    },
    // Without --master and with one process, uWSGI serves in the process it started as.
    noWorkers: {
      says: /spawned uWSGI worker 1 \(and the only\)/,
      advice:
        "uWSGI runs a single process (no --master, one process), which forks no worker, so there is no fork point to check. Check it as it runs in production, with --master --processes 2, or declare a fork point of the app's own with --fork-marker.",
    },
    ownFds: [
      {
        role: 'listening socket',
        matches: (r) => r.kind === 'socket' && madeNatively(UWSGI, 'socket')(r) && r.socket?.listening === true,
      },
      // Unconnected, made by uWSGI itself: --cache2 keeps one.
      {
        role: 'UDP socket',
        matches: (r) =>
          r.kind === 'socket' &&
          madeNatively(UWSGI, 'socket')(r) &&
          r.socket?.protocol.startsWith('UDP') === true &&
          r.socket.peer === undefined,
      },
      {
        role: "master's socketpair",
        matches: (r) => r.target === 'unix socketpair' && madeNatively(UWSGI, 'socketpair')(r),
      },
      // --log-master (and a --logger) keeps a dup of where it logs (--logto, --daemonize: a file, or
      // a UDP address) and puts a socketpair to the master on each process's stdout and stderr.
      {
        role: "master's log output (--log-master)",
        matches: (r) => r.stdio === undefined && madeNatively(UWSGI, 'dup')(r),
      },
    ],
  },
  supervisor: {
    name: 'supervisor',
    programs: ['supervisord'],
    // supervisord forks to exec its programs: that fork is the moment its fds reach a child.
    forkPoint: { mode: 'first-fork', spawns: true },
    ownFds: [
      // One fd per log file: the same file opened twice (stdout and stderr logs) is the bug to catch.
      // A device or fifo (logfile=/dev/null in a container) has no offset to share.
      {
        role: 'log file',
        matches: (r) =>
          isLogOutput(r) &&
          madeIn('supervisor.loggers:FileHandler.__init__')(r) &&
          (r.kind !== 'file' || r.sameTargetAs === undefined),
      },
      { role: 'control socket', matches: (r) => r.kind === 'socket' && madeIn('supervisor.http:make_http_servers')(r) },
      // [fcgi-program]: supervisord binds the socket and hands it to each of the program's processes as stdin.
      {
        role: 'FastCGI socket ([fcgi-program])',
        matches: (r) => r.kind === 'socket' && madeIn('supervisor.socket_manager:SocketManager._prepare_socket')(r),
      },
      {
        role: "program's stdio pipe",
        matches: (r) => r.kind === 'pipe' && madeIn('supervisor.options:ServerOptions.make_pipes')(r),
      },
    ],
  },
  unicorn: {
    name: 'unicorn',
    programs: ['unicorn', 'unicorn_rails'],
    forkPoint: { mode: 'first-fork', serverFork: 'unicorn/http_server:spawn_missing_workers' },
    // Known by the Ruby code that made them, as the Python servers' are; the Ruby VM's own
    // eventfds are allowed for every Ruby process (see build-report).
    ownFds: [
      {
        role: 'listening socket',
        matches: (r) => r.kind === 'socket' && madeIn('unicorn/socket_helper:bind_listen')(r),
      },
      { role: 'self-pipe or worker pipe', matches: (r) => r.kind === 'pipe' && madeDirectlyBy('unicorn:pipe')(r) },
    ],
  },
  puma: {
    name: 'puma',
    programs: ['puma'],
    // Cluster mode (workers N, preload_app!): the first worker fork.
    forkPoint: { mode: 'first-fork', serverFork: 'puma/cluster:spawn_worker' },
    noWorkers: {
      says: /Puma starting in single mode/,
      advice:
        "Puma runs in single mode, which forks no worker, so there is no fork point to check. Check it in cluster mode (workers 2 and preload_app! in puma.rb, or -w 2 --preload), or declare a fork point of the app's own with --fork-marker.",
    },
    ownFds: [
      // bind, and the control app's (activate_control_app) own binder.
      { role: 'listening socket', matches: (r) => r.kind === 'socket' && madeIn('puma/binder:parse')(r) },
      {
        role: "cluster's pipes (wakeup, fork, suicide, worker status)",
        matches: (r) => r.kind === 'pipe' && madeDirectlyBy('puma/util:pipe')(r),
      },
    ],
  },
  // An app whose server is Python's multiprocessing (a Pool, a ProcessPoolExecutor, Process
  // workers, or a framework built on them) with the fork start method. It runs as `python3 app.py`,
  // so it is never detected. spawn and forkserver start a fresh interpreter: no fork point there.
  multiprocessing: {
    name: 'multiprocessing',
    programs: [],
    forkPoint: { mode: 'first-fork', serverFork: 'multiprocessing.popen_fork:Popen._launch' },
    ownFds: [
      // Made by Process.start for the child it forks: that child's sentinel and its end of the pipes.
      {
        role: "the forked process's own pipes (Process.start)",
        matches: (r) => r.kind === 'pipe' && madeIn('multiprocessing.popen_fork:Popen._launch')(r),
      },
      // A ThreadPool is a Pool too, but its threads never reach a forked worker.
      {
        role: "pool's task, result and change-notifier pipes (Pool)",
        matches: (r) =>
          r.kind === 'pipe' &&
          madeIn('multiprocessing.pool:Pool.__init__')(r) &&
          !madeIn('multiprocessing.pool:ThreadPool.__init__')(r),
      },
      {
        role: "executor's call and result queues and wakeup pipe (ProcessPoolExecutor)",
        matches: (r) => r.kind === 'pipe' && madeIn('concurrent.futures.process:ProcessPoolExecutor.__init__')(r),
      },
      // Every process multiprocessing starts shares the one tracker, by this pipe.
      {
        role: "resource tracker's pipe",
        matches: (r) =>
          r.kind === 'pipe' && madeIn('multiprocessing.resource_tracker:ResourceTracker.ensure_running')(r),
      },
    ],
  },
  // Tornado's multi-process mode: bind_sockets() (or HTTPServer.bind()) in the master, then
  // fork_processes(n) (or HTTPServer.start(n)); each child adds the inherited listeners to its own
  // IOLoop. Run as `python3 app.py`, so never detected.
  tornado: {
    name: 'tornado',
    programs: [],
    forkPoint: { mode: 'first-fork', serverFork: 'tornado.process:fork_processes' },
    ownFds: [
      {
        role: 'listening socket (bind_sockets, HTTPServer.bind)',
        matches: (r) =>
          r.kind === 'socket' &&
          (madeIn('tornado.netutil:bind_sockets')(r) || madeIn('tornado.netutil:bind_unix_socket')(r)),
      },
    ],
  },
  // RQ's worker forks a work horse for each job it takes (rq worker, or an app's script calling
  // Worker.work()); the horse calls setsid() first, in a session of its own.
  rq: {
    name: 'rq',
    programs: ['rq', 'rqworker'],
    forkPoint: { mode: 'first-fork', serverFork: 'rq.worker:Worker.fork_work_horse' },
    ownFds: [
      // Made by RQ's worker itself (its command line, its constructor, its loop): redis-py checks
      // its pid and reconnects in the horse, leaving the worker's sockets unused there.
      {
        role: "worker's Redis connections",
        matches: (r) => r.kind === 'socket' && RQ_WORKER_SITES.some((site) => madeUnder(site)(r)),
      },
    ],
  },
  // Hypercorn with --workers > 1 (before 0.14, which spawns them instead): the master binds, then
  // forks each worker with multiprocessing, and the worker loads the app. What runs in the master
  // is Hypercorn's and a Python config file's.
  hypercorn: {
    name: 'hypercorn',
    programs: ['hypercorn'],
    forkPoint: { mode: 'first-fork', serverFork: 'hypercorn.run:run_multiple' },
    ownFds: [
      {
        role: 'listening socket (--bind, --insecure-bind, --quic-bind)',
        matches: (r) => r.kind === 'socket' && madeUnder('hypercorn.config:Config.create_sockets')(r),
      },
      // multiprocessing's sentinel and pipes for each worker it starts.
      {
        role: "worker processes' pipes (Process.start)",
        matches: (r) =>
          r.kind === 'pipe' &&
          madeIn('multiprocessing.popen_fork:Popen._launch')(r) &&
          madeUnder('hypercorn.run:run_multiple')(r),
      },
    ],
  },
};

export function presetNamed(name: PresetName): Preset {
  return PRESETS[name];
}

/**
 * The presets no command shows (multiprocessing's, Tornado's) that would excuse one of these counted fds, for
 * a first-fork check run without a preset: said in a note, never applied.
 */
export function presetsToSuggest(counted: FdRecord[]): PresetName[] {
  return Object.values(PRESETS)
    .filter((preset) => preset.programs.length === 0)
    .filter((preset) => counted.some((record) => preset.ownFds.some((own) => own.matches(record))))
    .map((preset) => preset.name);
}

/** The program a command runs, past an interpreter: `python3 -m celery ...` → celery, `/usr/bin/gunicorn` → gunicorn. */
function programOf(command: string[]): string[] {
  const names = [basename(command[0] ?? '')];
  if (/^(python[0-9.]*|ruby[0-9.]*)$/.test(names[0]!)) {
    const module = command.indexOf('-m');
    if (module > 0 && command[module + 1]) names.push(command[module + 1]!);
    const script = command.slice(1).find((arg) => !arg.startsWith('-'));
    if (script) names.push(basename(script));
  }
  return names;
}

/** Runners whose subcommand runs the rest: `bundle exec puma`, `poetry run gunicorn`. */
const RUNNERS = new Map([
  ['bundle', 'exec'],
  ['poetry', 'run'],
  ['pipenv', 'run'],
  ['uv', 'run'],
  ['pdm', 'run'],
  ['hatch', 'run'],
]);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** What follows leading options (and, for env, assignments). */
function afterOptions(args: string[], alsoSkip = (_arg: string) => false): string[] {
  const at = args.findIndex((arg) => !arg.startsWith('-') && !alsoSkip(arg));
  return at < 0 ? [] : args.slice(at);
}

/** Words before a simple command's program: `exec gunicorn`, `then celery`, `if puma ...`, `A=1 puma`. */
const LEADING_WORDS = new Set([
  'exec',
  'then',
  'else',
  'do',
  'if',
  'elif',
  'while',
  'until',
  'time',
  'command',
  '{',
  '!',
]);

/** Each simple command of a shell script (split on whitespace: enough to see what it starts). */
function commandsOfScript(script: string): string[][] {
  return script
    .replace(/\\\n/g, ' ')
    .split(/&&|\|\||[;|&()\n]/)
    .map((part) => {
      const words = part
        .trim()
        .split(/\s+/)
        .map((word) => word.replace(/^["']|["']$/g, ''));
      return afterOptions(words, (word) => LEADING_WORDS.has(word) || ASSIGNMENT.test(word));
    });
}

const MAX_SCRIPT = 64 * 1024;

/** A shell script a command runs (`./start.sh`, `sh bin/web`): its text, and the arguments it is given. */
function scriptRun(command: string[], cwd: string): { text: string; args: string[] } | undefined {
  const [first = '', ...rest] = command;
  const viaShell = isShellName(first);
  const at = viaShell ? rest.findIndex((arg) => !arg.startsWith('-')) : -1;
  const path = viaShell ? rest[at] : findProgram(first, cwd);
  if (path === undefined || (!viaShell && !isShell(path))) return undefined;
  try {
    const file = resolve(cwd, path);
    if (statSync(file).size > MAX_SCRIPT) return undefined;
    return { text: readFileSync(file, 'utf8'), args: viaShell ? rest.slice(at + 1) : rest };
  } catch {
    return undefined;
  }
}

/** An entrypoint's `exec "$@"` runs the command it was given. */
const ALL_ARGS = new Set(['$@', '${@}', '$*']);

/**
 * The commands a command runs in its place: `env A=1 gunicorn ...`, `nohup`, `nice`, `setsid`,
 * `timeout 60 ...`, `bundle exec puma`, `poetry run ...`, and each simple command of
 * `sh -c "cd app && exec gunicorn ..."` or of a shell script it runs (`./start.sh`).
 */
function commandsWithin(command: string[], cwd: string): string[][] {
  const [first = '', ...rest] = command;
  const name = basename(first);
  if (name === 'env') return [afterOptions(rest, (arg) => ASSIGNMENT.test(arg))];
  if (name === 'nohup' || name === 'setsid' || name === 'stdbuf') return [afterOptions(rest)];
  if (name === 'nice') return [afterOptions(rest[0] === '-n' ? rest.slice(2) : rest)];
  if (name === 'timeout') return [afterOptions(rest).slice(1)];
  if (RUNNERS.has(name) && rest[0] === RUNNERS.get(name)) return [afterOptions(rest.slice(1))];
  // `sh -c '...'`, `bash -lc '...'`: the text after the options is the script.
  const inline = isShellName(name) ? rest.findIndex((arg) => /^-[a-z]*c[a-z]*$/.test(arg)) : -1;
  if (inline >= 0) return commandsOfScript(rest[inline + 1] ?? '');
  const script = scriptRun(command, cwd);
  if (script === undefined) return [];
  return commandsOfScript(script.text).map((words) => (ALL_ARGS.has(words[0] ?? '') ? script.args : words));
}

/** The programs a command may start, looking through wrappers and scripts (at most a few deep). */
function programsOf(command: string[], cwd: string, depth = 0): string[] {
  if (command.length === 0 || depth > 3) return [];
  return [...programOf(command), ...commandsWithin(command, cwd).flatMap((inner) => programsOf(inner, cwd, depth + 1))];
}

/**
 * The preset whose server the command starts, if any: none when it may start the servers of two
 * (a script whose branches run Celery or gunicorn), which --preset then names.
 */
export function detectPreset(command: string[], cwd = process.cwd()): Preset | undefined {
  const names = programsOf(command, cwd);
  const found = Object.values(PRESETS).filter((preset) => names.some((name) => isOneOf(preset.programs, name)));
  return found.length === 1 ? found[0] : undefined;
}
