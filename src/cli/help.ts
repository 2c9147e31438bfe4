import { helpLine } from '../options/check-fields.js';

const WATCH_OPTIONS = `Watch (prefork-check watch):
  --request <url>          GET this URL once per step (ready when its port answers)
  --drive <command>        or run this shell command once per step
  --requests <n>           steps (default 100)
  --warmup <n>             first steps not counted (default a tenth, at most 10)
  --max-growth <n>         fds a process may gain per step (default 0)
  --ready-marker <text>    ready when the server prints this
  --ready-port <port>      ready when this port answers
  --html <file>            an HTML page with an SVG chart per process`;

export const HELP = `Usage:
  prefork-check --entry app.py [options]        run a Python file (python3, or --python; a .rb file runs with ruby)
  prefork-check [options] -- <command> [args]   run any command (gunicorn, celery, bash, ...)
  prefork-check [options]                       run the checks in prefork-check.config.json
  prefork-check merge-reports <json...>         combine shards' --json reports
  prefork-check watch [options] -- <server>     fds that grow with every request

Traces the app (prefork-check's own tracer, or strace) to its fork point and fails if it
holds any fd there other than stdio: every worker forked from it would share that fd.

Fork point (choose one; default: exit of the started process):
${helpLine('forkMarker')}
                           (any write, any process under it, split over writes or not)
${helpLine('forkAtFirstFork')}
                           (not a thread, not a subprocess that execs, not the forks
                           of daemonizing: a daemon is followed to its own worker fork)
  The table is the kernel's at that syscall, whatever the app does next.
  At exit, a Python app has already closed its open() files and sockets:
  for Python, declare --fork-marker or --fork-at-first-fork.

Servers:
${helpLine('preset')}

Known leaks and rules:
${helpLine('allow')}
${helpLine('name')}
  --baseline <file>        known leaks (default: prefork-check.baseline.json when present)
  --update-baseline        record the leaks seen now as the known ones, showing the diff
  --strict                 fail on baseline entries whose leak is gone
  --config <file>          config file (default: prefork-check.config.json, or the
                           "prefork-check" field of package.json)

Reports:
  --json <file>            the whole run as JSON (- for stdout: the rest goes to stderr)
  --junit <file>           JUnit XML: a testsuite per check, a testcase per leak site
  -q, --quiet              print only the verdict lines
  --verbose                show allowed fds in full (flags, creator, origin, stack), not one line each
  (under GitHub Actions, ::error annotations and a step summary are added)

${WATCH_OPTIONS}

Running:
${helpLine('timeout')}
  --concurrency <n>        checks run at once (default: the number of cores)
  --shard <i>/<n>          run only the i-th of n slices of the checks (for CI matrices)
  --check <name>           run only the config's check of this name (repeatable)
${helpLine('python')}
${helpLine('inheritFds')}
${helpLine('attribution')}
${helpLine('nativeStacks')}
${helpLine('deep')}
${helpLine('tracer')}
${helpLine('strace')}
${helpLine('traceOut')}
  -h, --help               show this help
  -v, --version            show the version

Exit codes:
  0  nothing open beyond stdio (or everything open is allowed or in the baseline)
  1  leaked fds (or, with --strict, stale baseline entries)
  2  the check could not be done: bad usage or config, a broken baseline, no tracer
     or ptrace, or the app died or timed out before the fork point (a partial
     report says what was open)
  128+n  stopped by signal n (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT, 141 SIGPIPE):
     the app's processes are killed and the reports written

Examples:
  prefork-check --entry app.py --fork-marker READY
  prefork-check --fork-at-first-fork -- python3 server.py
  prefork-check --fork-marker READY --update-baseline -- gunicorn --preload app:app
  prefork-check --shard 2/4 --json shard-2.json && prefork-check merge-reports 'shard-*.json' --junit all.xml
`;

export const WATCH_HELP = `Usage:
  prefork-check watch [options] -- <server> [args]

Runs the server under the full trace, drives load at it once it is ready, and
samples every process's fds after each step: fails when a process gains more
than --max-growth fds per step (a socket or file leaked per request).

${WATCH_OPTIONS}
  --timeout <seconds>      for the server to be ready and the load to finish (default 120)
${helpLine('tracer')}
${helpLine('traceOut')}
  --json <file>, --junit <file>, -q   as for a fork check

Example:
  prefork-check watch --request http://127.0.0.1:8000/metrics --requests 200 --html watch.html -- python3 exporter.py 8000
`;

export const MERGE_HELP = `Usage:
  prefork-check merge-reports <json...> [--json <file>] [--junit <file>]

Combines the --json reports of shards (--shard i/n) into one run: one console
report, one JSON, one JUnit; the exit code is the worst of theirs. Globs are
expanded ('shard-*.json').

Example:
  prefork-check merge-reports 'shard-*.json' --json all.json --junit all.xml
`;
