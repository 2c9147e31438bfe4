import type { FdKind, SocketState } from '../model/open-file.js';
import type { PresetName } from '../presets/presets.js';
import type { Hint } from '../report/types.js';

/** A library that makes fds, told by the modules on the creating stack (Python) or the gem's files (Ruby). */
export interface LibraryHint extends Hint {
  /** Module names or prefixes on the stack: `sqlalchemy`, `logging`, `redis`; Ruby files as `logger`, `active_record`. */
  modules: string[];
  /** Only for fds of these kinds (a logging handler's file, not its syslog socket). */
  kinds?: FdKind[];
  /** A Ruby library (its frames are .rb files); otherwise a Python one. */
  ruby?: true;
}

// Most specific first: the first library whose module is on the stack gives the hint.
export const LIBRARY_HINTS: LibraryHint[] = [
  {
    id: 'django-database',
    modules: ['django.db'],
    text: "Django connected to its database while the app loaded (a query at import, or in an AppConfig's ready()): the connection is in every worker. Call django.db.connections.close_all() before the fork; each worker then connects on its first query.",
    see: 'https://docs.djangoproject.com/en/stable/ref/databases/#connection-management',
  },
  {
    id: 'sqlalchemy-engine',
    modules: ['sqlalchemy'],
    text: 'A SQLAlchemy engine connected while the app loaded: its pool holds the connection. Call engine.dispose() before the fork (the master keeps no connection), or engine.dispose(close=False) in the worker, which SQLAlchemy documents but which leaves the fd shared, so this check still sees it.',
    see: 'https://docs.sqlalchemy.org/en/20/core/pooling.html#using-connection-pools-with-multiprocessing-or-os-fork',
  },
  {
    id: 'active-record-pool',
    ruby: true,
    modules: ['active_record'],
    text: "ActiveRecord connected while the app loaded. ActiveRecord 6.1 discards the pool it inherits at a fork without closing it, so reconnecting in the worker leaves the master's fd open in every worker: call ActiveRecord::Base.connection_pool.disconnect! in the master before the fork.",
  },
  {
    id: 'ruby-sequel',
    ruby: true,
    modules: ['sequel'],
    text: 'A Sequel database connected while the app loaded (Sequel.connect tests a connection at once): its pool holds the connection, and every worker would share it. Call DB.disconnect before the fork (Sequel::DATABASES.each(&:disconnect) for several); each worker connects on its first query.',
    see: 'https://sequel.jeremyevans.net/rdoc/files/doc/fork_safety_rdoc.html',
  },
  // Before redis: kombu's Redis transport connects through redis-py.
  {
    id: 'kombu-connection',
    modules: ['kombu'],
    text: "A connection to a message broker made while the app loaded by kombu, which Celery sends a task's message over (.delay() or .apply_async() at import): its broker socket and its transport's poller (an epoll) are in every worker. Send tasks from the worker, not while the app loads; for a kombu Connection of the app's own, call connection.release() before the fork.",
    see: 'https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.html#kombu.Connection.release',
  },
  {
    id: 'redis-client',
    modules: ['redis'],
    kinds: ['socket'],
    text: 'A redis-py client connected while the app loaded: its connection pool holds the socket. Create the client in the worker, or call client.connection_pool.disconnect() before the fork.',
    see: 'https://redis.readthedocs.io/en/stable/connections.html',
  },
  // Before urllib3's: botocore pools its connections there.
  {
    id: 'aws-client',
    modules: ['botocore', 'boto3', 'aiobotocore'],
    kinds: ['socket'],
    text: "A boto3 (botocore) client used while the app loaded (secrets or config read at start-up) keeps its connection in its pool, and every worker would share it. Make the client in the worker, or call client.close() before the fork (a resource's: resource.meta.client.close()).",
    see: 'https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html',
  },
  {
    id: 'requests-session',
    modules: ['requests', 'urllib3'],
    kinds: ['socket'],
    text: "An HTTP connection pool used while the app loaded (a requests Session, or urllib3's PoolManager, which other clients such as elasticsearch's build on) keeps its connection. Make it in the worker, or close it before the fork: session.close(), pool_manager.clear(), or the client's own close().",
  },
  {
    id: 'memcached-client',
    modules: ['pymemcache', 'memcache', 'pylibmc'],
    kinds: ['socket'],
    text: "A memcached client connected while the app loaded: every worker would talk on its one connection, and read each other's replies. Make the client in the worker, or close its connection before the fork (pymemcache: client.close(); python-memcached and pylibmc: client.disconnect_all()): it connects again on its next use.",
  },
  {
    id: 'grpc-channel',
    modules: ['grpc'],
    text: "A gRPC channel opened while the app loaded: grpc's poller (an epoll and an eventfd) and the channel's connection are in every worker. Open channels in the worker, or call channel.close() before the fork: grpc then closes its poller's fds in each worker as it starts, which this check sees with a first-fork fork point (a marker still finds them in the master). GRPC_ENABLE_FORK_SUPPORT=1 made forked children exit with status 64 (grpc 1.51).",
    see: 'https://github.com/grpc/grpc/blob/master/doc/fork_support.md',
  },
  {
    id: 'postgres-connection',
    modules: ['psycopg2', 'psycopg'],
    kinds: ['socket'],
    text: "A PostgreSQL connection opened while the app loaded: libpq's documentation warns that one shared across fork() gives unpredictable results, and every worker would talk on its one session. Connect in the worker, or call conn.close() before the fork.",
    see: 'https://www.postgresql.org/docs/current/libpq-connect.html',
  },
  {
    id: 'mysql-connection',
    modules: ['MySQLdb', 'pymysql'],
    kinds: ['socket'],
    text: 'A MySQL connection opened while the app loaded: every worker would talk on its one session. Connect in the worker, or call conn.close() before the fork.',
  },
  {
    id: 'mongo-client',
    modules: ['pymongo'],
    kinds: ['socket'],
    text: 'A pymongo MongoClient made while the app loaded: its monitor threads connect at once and do not survive a fork, and every worker would share its connections (pymongo warns that a MongoClient is not fork-safe). Make the client in the worker, or call client.close() before the fork and make a new one in the worker (pymongo 4 does not reopen a closed client).',
    see: 'https://pymongo.readthedocs.io/en/stable/faq.html#is-pymongo-fork-safe',
  },
  {
    id: 'zeromq-context',
    modules: ['zmq'],
    text: 'A ZeroMQ context made while the app loaded: its I/O threads do not survive a fork, and its eventfds, epolls and sockets are in every worker. Make the context and its sockets in the worker, or call context.destroy() before the fork.',
  },
  {
    id: 'kafka-client',
    modules: ['confluent_kafka'],
    text: "A Kafka client (confluent-kafka's Producer, Consumer or AdminClient) made while the app loaded: librdkafka's threads do not survive a fork, and its pipes and broker connections are in every worker. Make the client in the worker, or destroy it before the fork: flush() a producer, close() a consumer, then drop the last reference.",
  },
  {
    id: 'curl-handle',
    modules: ['pycurl'],
    text: 'A pycurl handle used while the app loaded: libcurl keeps its connection, and the wakeup socketpair of the multi handle it runs in, open for reuse, and every worker would share them. Make the handle in the worker, or close() it (and any CurlMulti) before the fork.',
  },
  {
    id: 'prometheus-multiprocess',
    modules: ['prometheus_client'],
    text: "prometheus_client's files or server opened in the master. In a pre-fork server use multiprocess mode: set PROMETHEUS_MULTIPROC_DIR, serve metrics with MultiProcessCollector, and call mark_process_dead in the server's child_exit hook.",
    see: 'https://prometheus.github.io/client_python/multiprocess/',
  },
  {
    id: 'multiprocessing-manager',
    modules: ['multiprocessing.managers', 'multiprocessing.pool', 'concurrent.futures.process'],
    text: "A multiprocessing Manager or pool (or a ProcessPoolExecutor) started while the app loaded: the master keeps its connection and its processes' pipes. Start it in the worker (after the fork); shutting it down before the fork still leaves those pipes open.",
  },
  {
    id: 'multiprocessing-queue',
    modules: ['multiprocessing.queues', 'multiprocessing.connection'],
    text: "A multiprocessing Queue, Pipe or connection (Listener, Client) made while the app loaded: every worker holds its fds, so all of them read one stream and a pipe's reader never sees EOF. Make it in the worker. A queue the workers are meant to share is a design, not a leak: allow it by where it is made (a createdIn rule).",
  },
  // The tracker before SharedMemory: a block's first registration starts it, under SharedMemory's frames.
  {
    id: 'multiprocessing-resource-tracker',
    modules: ['multiprocessing.resource_tracker'],
    kinds: ['pipe'],
    text: "multiprocessing's resource tracker was started while the app loaded (a SharedMemory block registers with it): the master keeps the write end of its pipe, and forked workers share it on purpose, to report to the one tracker. Allow it by where it is made: a createdIn rule on multiprocessing.resource_tracker.",
  },
  {
    id: 'multiprocessing-shared-memory',
    modules: ['multiprocessing.shared_memory'],
    kinds: ['file'],
    text: 'A SharedMemory block made while the app loaded: its fd, and the copy its map keeps, are in every worker. Where the workers are meant to share it, allow it by where it is made (a createdIn rule on multiprocessing.shared_memory). Otherwise call close() before the fork (it stays in /dev/shm until unlink()), and attach to it by name in the worker: SharedMemory(name).',
  },
  // A shared Value or Array: its heap's arena, a deleted file in /dev/shm and the map of it.
  {
    id: 'multiprocessing-shared-ctypes',
    modules: ['multiprocessing.heap'],
    kinds: ['file'],
    text: "A shared Value or Array (multiprocessing's shared heap: a deleted file, mapped) made while the app loaded: made before the fork so that the workers share it, and its fds go with it. Allow them by where they are made: a createdIn rule on multiprocessing.heap.",
  },
  // Where a Process's start makes its pipes: with fork, spawn or forkserver.
  {
    id: 'multiprocessing-process',
    modules: ['multiprocessing.popen_fork', 'multiprocessing.popen_spawn_posix', 'multiprocessing.popen_forkserver'],
    text: 'A process started with multiprocessing while the app loaded: the master keeps its sentinel pipe. Start it in the worker, or join() and close() it before the fork.',
  },
  {
    id: 'eventlet-hub',
    modules: ['eventlet.hubs'],
    kinds: ['epoll'],
    text: 'eventlet made its hub (an epoll) while the app loaded: importing eventlet does, even from a library that only looks for it (sentry_sdk does). A hub must not cross a fork. Before the fork, close its epoll and drop it (eventlet.hubs.get_hub().poll.close(), then eventlet.hubs.use_hub()); each process makes its own when it needs one. Or leave eventlet out of an environment whose workers do not run it.',
  },
  {
    id: 'asyncio-loop',
    modules: ['asyncio', 'uvloop'],
    kinds: ['epoll', 'eventfd', 'socket', 'pipe'],
    text: "An asyncio event loop (uvloop's too) made while the app loaded (its epoll and self-pipe): a loop must not cross a fork. Make the loop in the worker, or close it (loop.close()) before the fork.",
  },
  {
    id: 'sqlite3-connection',
    modules: ['sqlite3'],
    text: 'A sqlite3 connection opened while the app loaded: SQLite forbids using one across fork(). Connect in the worker, or close it before the fork.',
    see: 'https://www.sqlite.org/howtocorrupt.html#_carrying_an_open_database_connection_across_a_fork_',
  },
  {
    id: 'log-socket',
    modules: ['syslog', 'logging.handlers', 'systemd'],
    kinds: ['socket'],
    text: "A socket to a log server (the syslog module, logging's SysLogHandler or SocketHandler, systemd's JournalHandler) opened while the app loaded: every worker sends through it. Add log handlers in the worker, not as the app loads; with the syslog module, call syslog.closelog() before the fork (each worker's next syslog() opens its own). libsystemd keeps its journal socket as long as the process lives: send nothing to the journal before the fork.",
  },
  {
    id: 'logging-file-handler',
    modules: ['logging'],
    kinds: ['file'],
    text: 'A log file opened while the app loaded by a logging FileHandler (or Django LOGGING): every worker writes through one file offset. Pass delay=True so each worker opens it on its first record, or configure logging in the worker.',
    see: 'https://docs.python.org/3/library/logging.handlers.html#filehandler',
  },
  {
    id: 'mmap',
    modules: ['mmap'],
    text: "A memory map made while the app loaded: Python's mmap keeps its own copy of the file's fd for as long as the map is open, so every worker holds it. Where the workers are meant to share the map (a model or a database mapped once in the master), that fd is the price of it: allow it by its path or where it is made (a createdIn rule). Otherwise map the file in the worker, or close the map (m.close()) before the fork.",
  },
  {
    id: 'uuid1-clock-file',
    modules: ['uuid'],
    kinds: ['file'],
    text: 'uuid.uuid1() made libuuid open its clock file, which it keeps open and locks with flock() around each time-based UUID: workers that inherit it share the one lock (it belongs to the open file), so it no longer keeps two of them from taking the same clock value and making the same UUID. Make time-based UUIDs only in the worker, or use uuid4().',
    see: 'https://docs.python.org/3/library/uuid.html#uuid.uuid1',
  },
  // flock() locks belong to the open file, which a fork shares (fasteners' lockf() locks do not).
  {
    id: 'lock-file',
    modules: ['filelock', 'portalocker'],
    kinds: ['file'],
    text: "A lock file held while the app loaded: an flock() lock belongs to the open file, so every worker holds it too. One worker's release frees it for all, and it stays held until the last of them closes it. Take it in the worker, or release it before the fork.",
    see: 'https://py-filelock.readthedocs.io/en/latest/',
  },
  {
    id: 'tempfile',
    modules: ['tempfile'],
    text: 'A temporary file made while the app loaded is shared by every worker (one offset). Make it in the worker, or close it before the fork.',
  },
  {
    id: 'ruby-sqlite3',
    ruby: true,
    modules: ['sqlite3'],
    text: 'A SQLite database opened while the app loaded: SQLite forbids using a connection across fork(). Open it in the worker, or close it before the fork.',
    see: 'https://www.sqlite.org/howtocorrupt.html#_carrying_an_open_database_connection_across_a_fork_',
  },
  {
    id: 'statsd-client',
    modules: ['statsd', 'datadog'],
    kinds: ['socket'],
    text: "A statsd client's socket opened while the app loaded: every worker sends through it. Make the client in the worker (the server's worker hook), or close its socket before the fork.",
  },
  {
    id: 'ruby-tempfile',
    ruby: true,
    modules: ['tempfile'],
    text: 'A Tempfile made while the app loaded is shared by every worker (one offset). Make it in the worker, or close! it before the fork.',
  },
  {
    id: 'ruby-statsd-client',
    ruby: true,
    modules: ['statsd', 'datadog'],
    kinds: ['socket'],
    text: "A statsd client's UDPSocket opened while the app loaded: every worker sends through it. Make the client in the worker (after_fork, on_worker_boot), or close it before the fork.",
  },
  {
    id: 'ruby-logger',
    ruby: true,
    modules: ['logger'],
    kinds: ['file'],
    text: "A Logger's file opened while the app loaded. Reopen it in the worker (logger.reopen in the server's worker hook), or log to stdout.",
  },
  {
    id: 'ruby-syslog',
    ruby: true,
    modules: ['syslog'],
    kinds: ['socket'],
    text: 'Syslog opened its socket to the system logger while the app loaded (Syslog.open, Syslog::Logger): every worker sends through it. Call Syslog.close before the fork and open it again in the worker.',
  },
  {
    id: 'ruby-postgres-connection',
    ruby: true,
    modules: ['pg'],
    kinds: ['socket'],
    text: "A PostgreSQL connection (PG::Connection) opened while the app loaded: libpq's documentation warns that one shared across fork() gives unpredictable results, and every worker would talk on its one session. Connect in the worker, or call conn.close before the fork.",
    see: 'https://www.postgresql.org/docs/current/libpq-connect.html',
  },
  {
    id: 'ruby-mysql-connection',
    ruby: true,
    modules: ['mysql2', 'trilogy'],
    kinds: ['socket'],
    text: 'A MySQL connection opened while the app loaded: every worker would talk on its one session. Connect in the worker, or call client.close before the fork.',
  },
  {
    id: 'ruby-memcached-client',
    ruby: true,
    modules: ['dalli'],
    kinds: ['socket'],
    text: 'A Dalli (memcached) client connected while the app loaded: every worker would talk on its one connection. Call client.close before the fork: it connects again on its next use.',
  },
  {
    id: 'ruby-redis-client',
    ruby: true,
    modules: ['redis', 'redis_client', 'hiredis'],
    kinds: ['socket'],
    text: 'A Redis client connected while the app loaded. Connect in the worker, or call redis.close before the fork.',
  },
];

/** A server's hint; `hook`: where in the worker an inherited fd can be closed before it serves. */
export interface ServerHint extends Hint {
  hook?: string;
}

/** How to act in a server's worker, or to keep the fd out of the master, per preset. */
export const SERVER_HINTS: Record<PresetName, ServerHint> = {
  gunicorn: {
    id: 'gunicorn-post-fork',
    text: 'Or open it in the worker: in gunicorn.conf.py, def post_fork(server, worker): ... (or run without --preload, so each worker loads the app).',
    hook: 'post_fork',
    see: 'https://docs.gunicorn.org/en/stable/settings.html#post-fork',
  },
  celery: {
    id: 'celery-worker-process-init',
    text: 'Or open it in the worker: @celery.signals.worker_process_init.connect def init(**kwargs): ...',
    hook: 'a worker_process_init handler',
    see: 'https://docs.celeryq.dev/en/stable/userguide/signals.html#worker-process-init',
  },
  uwsgi: {
    id: 'uwsgi-postfork',
    text: 'Or open it in the worker: decorate a function with @uwsgidecorators.postfork, or set lazy-apps = true so each worker loads the app.',
    hook: 'a postfork function',
    see: 'https://uwsgi-docs.readthedocs.io/en/latest/PythonDecorators.html#uwsgidecorators.postfork',
  },
  supervisor: {
    id: 'supervisor-program',
    text: 'Or let each program open it: supervisord forks programs with what it holds; use redirect_stderr=true rather than one log file for stdout and stderr.',
  },
  unicorn: {
    id: 'unicorn-after-fork',
    text: 'Or close it in the master before the fork and reopen it in the worker: before_fork { |server, worker| ... } and after_fork { |server, worker| ... } in the unicorn config.',
    hook: 'after_fork',
    see: 'https://yhbt.net/unicorn/Unicorn/Configurator.html',
  },
  puma: {
    id: 'puma-on-worker-boot',
    text: 'Or close it in the master before the fork and reopen it in the worker: before_fork { ... } and on_worker_boot { ... } in puma.rb.',
    hook: 'on_worker_boot',
    see: 'https://puma.io/puma/Puma/DSL.html#on_worker_boot-instance_method',
  },
  multiprocessing: {
    id: 'multiprocessing-initializer',
    text: "Or open it in the worker: Pool(initializer=...) or ProcessPoolExecutor(initializer=...), or at the start of the Process's target.",
    hook: "the pool's initializer or the process's target",
    see: 'https://docs.python.org/3/library/multiprocessing.html#multiprocessing.pool.Pool',
  },
  rq: {
    id: 'rq-work-horse',
    text: 'Or open it in the work horse RQ forks for each job: in the job function, or in a Worker subclass (rq worker --worker-class) whose perform_job() opens it first.',
    see: 'https://python-rq.org/docs/workers/#custom-worker-classes',
  },
  hypercorn: {
    id: 'hypercorn-worker',
    text: 'Or open it in the worker: Hypercorn loads the app in each worker it forks, so the app module runs there; its Python config file (-c file: or python:) runs in the master.',
    see: 'https://hypercorn.readthedocs.io/en/latest/how_to_guides/configuring.html',
  },
  tornado: {
    id: 'tornado-after-fork-processes',
    text: 'Or open it in the worker: code after tornado.process.fork_processes(n) (or HTTPServer.start(n)) returns runs in each worker; make the IOLoop and everything else there.',
    hook: 'the code after fork_processes() returns',
    see: 'https://www.tornadoweb.org/en/stable/tcpserver.html#tornado.tcpserver.TCPServer',
  },
};

/** The fallback by kind, when no library is known: never a library's advice. */
export function kindHint(kind: FdKind, socket: SocketState | undefined): Hint {
  switch (kind) {
    case 'socket':
      // UDP has no stream: one socket, one port, and a datagram goes to whichever worker reads first.
      if (socket?.protocol.startsWith('UDP') === true)
        return {
          id: 'datagram-socket',
          text: 'A UDP socket made while the app loaded: every worker sends from its one port, and a reply reaches whichever worker reads first. Make it in the worker, or close it before the fork.',
        };
      if (socket?.fromSocketpair === true)
        return {
          id: 'socketpair',
          text: 'A socketpair made while the app loaded: every worker holds both ends, so what one writes may be read by another, and no end sees EOF while any worker lives. Make it in the worker, or close the ends the workers do not use before the fork.',
        };
      return socket?.listening === true
        ? {
            id: 'listening-socket',
            text: "A listening socket that is not the server's own: every worker accepts on it. Open it in the worker, or let the server listen.",
          }
        : {
            id: 'client-socket',
            text: 'A connection made while the app loaded: every worker reads and writes one stream. Connect in the worker, or close it before the fork.',
          };
    case 'pipe':
    case 'fifo':
      return {
        id: 'pipe',
        text: 'A pipe made while the app loaded: every worker holds its ends, so its reader never sees EOF. Make it in the worker, or close the ends the workers do not use before the fork.',
      };
    case 'epoll':
    case 'eventfd':
    case 'signalfd':
    case 'timerfd':
      return {
        id: 'event-loop',
        text: "An event loop's fd made while the app loaded: a loop must not cross a fork. Make it in the worker, or close it before the fork.",
      };
    // One queue of events for every worker: each event reaches one of them.
    case 'inotify':
      return {
        id: 'file-watcher',
        text: "A file watcher (inotify: watchdog's Observer, a reloader, pyinotify) started while the app loaded: every worker reads its one queue of events, so each change reaches only one of them, and the thread that reads it does not survive the fork. Start it in the worker, or stop it before the fork (watchdog: observer.stop(); observer.join()).",
      };
    default:
      return {
        id: 'file-at-load',
        text: 'A file opened while the app loaded: every worker shares its offset. Open it in the worker, or close it before the fork.',
      };
  }
}
