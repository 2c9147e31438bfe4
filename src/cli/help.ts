export const HELP = `Usage:
  prefork-check --entry app.py [options]        run a Python file (python3, or --python)
  prefork-check [options] -- <command> [args]   run any command (gunicorn, celery, bash, ...)

Runs the app under strace to its fork point and fails if it holds any fd
there other than stdio: every worker forked from it would share that fd.

Fork point (choose one; default: exit of the started process):
  --fork-marker <text>     the app writes <text> to stdout or stderr
  --fork-at-first-fork     the first fork() that creates a worker
                           (not a thread, not a subprocess that execs)

Options:
  --timeout <seconds>      stop and fail (exit 2) if the fork point is not reached (default 30)
  --allow <glob>           excuse fds whose target matches (repeatable), e.g. '/var/log/**'
  --json <file>            write the full report as JSON
  --python <path>          interpreter for --entry (default python3)
  --inherit-fds            pass on fds prefork-check itself inherited (reported as inherited)
  --no-attribution         do not load the Python bootstrap that names source lines
  --strace <path>          strace binary (default: strace on PATH)
  --trace-out <file>       also save strace's raw output (to debug the check itself)
  -q, --quiet              print only the verdict line
  -h, --help               show this help
  -v, --version            show the version

Exit codes:
  0  nothing open beyond stdio (or everything open is allowed)
  1  leaked fds
  2  the check could not be done: bad usage, no strace or ptrace, or the app
     died or timed out before the fork point (a partial report says what was open)

Examples:
  prefork-check --entry app.py --fork-marker READY
  prefork-check --fork-at-first-fork -- python3 server.py
  prefork-check --fork-marker READY --json report.json -- bash -c 'exec 7</etc/hostname; echo READY'
`;
