import type { Origin, StackFrame } from '../attribution/describe-origin.js';
import type { Creator, FdKind, SocketState } from '../model/open-file.js';

export type { Origin, StackFrame };

/** One fd in the table at the fork point. */
export interface FdRecord {
  fd: number;
  kind: FdKind;
  /** A path; for sockets `tcp 127.0.0.1:8000` or `tcp a:1 -> b:2`, `udp ...`, `unix /path`; `pipe:[inode]`. */
  target: string;
  /** Open flags as given at creation, close-on-exec aside. */
  flags: string[];
  /** Close-on-exec. It does not protect pre-fork workers: fork copies the table regardless. */
  cloexec: boolean;
  inode?: number;
  socket?: SocketState;
  createdBy: Creator;
  /** The model met this fd in use without seeing where it came from. */
  unaccounted?: boolean;
  /**
   * It shares the open file of the app's own stdin, stdout or stderr (a dup of it, as uWSGI keeps
   * for its logger): workers share that already, through fds 0-2.
   */
  stdio?: 'stdin' | 'stdout' | 'stderr';
  /** Made by dup, dup2, dup3 or fcntl F_DUPFD from this fd, which still shares its file (its own creator and line are this fd's). */
  duplicateOf?: number;
  /** Put at its number on purpose, by dup2 or dup3 (a log over stdout), not given the lowest free one. */
  placed?: true;
  /** Its path was unlinked after it was opened (O_TMPFILE, mkstemp then unlink); the target ends with ` (deleted)`. */
  deleted?: true;
  /**
   * The path it was opened at, where prefork-check's own tracer found it renamed since (the target
   * is its name at the fork point). Rules and baselines match this path, as strace names it so.
   */
  openedAs?: string;
  /** Other fds open on the same file or socket (the same target twice: one log file opened by two handlers). */
  sameTargetAs?: number[];
  /** How many fds in all are open on that target (sameTargetAs lists at most 16 of the others). */
  sameTargetCount?: number;
  /** The app's source line that made it (Python and Ruby); null when no line did, see originNote. */
  origin: Origin | null;
  /** The Python or Ruby stack at creation, innermost first; library frames marked. */
  stack: StackFrame[];
  /** Why origin is null, or that the fd was made in native or library code. */
  originNote?: string;
  /** Made by the Python or Ruby interpreter's own start-up, before any of the app's code ran. */
  runtimeStartup?: 'python' | 'ruby';
  /** With native stacks on: the C stack of the syscall that made it, innermost first (`libc.so.6 __open64+0x51`). */
  nativeStack?: string[];
}

/**
 * An fd the first worker closed, or put another file over with dup2, before it was ready to
 * serve (gunicorn's post_fork, Celery's worker_process_init, Unicorn's after_fork): no worker
 * shares it while serving, so it does not count. The master still holds it.
 */
export interface ClosedInWorker {
  /** The worker's pid. */
  pid: number;
  /** The call that closed it: close, close_range, dup2 or dup3 (unsaid after the first 4,096 closes of the worker). */
  syscall?: string;
  /** The app's line that closed it (Python and Ruby); null when no call the bootstrap announces did. */
  origin: Origin | null;
  /** The Python or Ruby stack at the close, innermost first. */
  stack: StackFrame[];
}

/** What to change for a leak (the table is hints/hint-table.ts): `id` is stable, `see` a page to read. */
export interface Hint {
  id: string;
  text: string;
  see?: string;
}

/**
 * What excused an fd, as data; the reporters word it (`allowedBy` in JSON). `label` by type:
 * - `rule`, `preset`: the rule as `rules[]` names it (`glob **\/app.log`, `preset gunicorn: listening socket`);
 * - `baseline`: the entry's key;
 * - `stdio`: which of the app's own stdio this fd duplicates (`stdout`);
 * - `runtime`: the runtime that made it as it starts (`ruby`: the VM's eventfd);
 * - `worker`: the pid of the first worker, which closed it before it served (see `closedInWorker`);
 * - `watch`: the --max-growth the growth stayed within.
 */
export interface Excuse {
  type: 'rule' | 'preset' | 'baseline' | 'stdio' | 'runtime' | 'worker' | 'watch';
  label: string;
}

export interface Leak extends FdRecord {
  /** Excused (see `excuse`): reported, but not counted against the check. */
  allowed: boolean;
  /** What excused it. */
  excuse?: Excuse;
  /** The baseline entry's key, when the baseline excused it. */
  baselineKey?: string;
  /**
   * Not excused: the baseline has an entry for this leak, but it lists `count` fds and more are
   * open now. The entry excuses the first `count` (lowest fds); this one is beyond them.
   */
  beyondBaseline?: { key: string; count: number };
  /** The fix, for the server and library at hand; on every leak that counts. */
  hint?: Hint;
  /** The first worker closed it before it was ready: excused, with where. */
  closedInWorker?: ClosedInWorker;
}

/** How many fds an allow rule excused; a rule that excused none is listed with 0, so stale rules show. */
export interface RuleUse {
  rule: string;
  allowed: number;
  /** The server preset the rule comes from. */
  preset?: string;
}

export interface ForkPointReport {
  /** `watch`: not a fork point but a run under load (prefork-check watch). */
  mode: 'marker' | 'first-fork' | 'exit' | 'watch';
  marker?: string;
  reached: boolean;
  /** What happened, in words: `marker "READY" written by pid 12 (python3)`. */
  description: string;
  /** The process whose table is reported. */
  pid?: number;
  program?: string;
  /** For a first fork: the worker's pid. */
  workerPid?: number;
  /**
   * For a first fork with fds that would count: the worker followed to its ready point (its first
   * wait to serve). `ready` false: it exited, ran another program, or was not ready in time; then
   * nothing it closed is excused. `how`: what showed it ready, or why not.
   */
  worker?: { pid: number; ready: boolean; how: string };
  notes: string[];
  /**
   * Set when the table may miss fds the trace cannot see being made (io_uring, fanotify): why.
   * Those the kernel's own table showed are in it, with `unaccounted`.
   */
  incomplete?: string;
}

export type Status = 'pass' | 'fail' | 'error';

export interface StaleEntry {
  key: string;
  note?: string;
  /** Set when some of the entry's fds are still open: it lists `count`, `seen` were open now. */
  count?: number;
  seen?: number;
}

export interface Report {
  /** The check's name (from the config; the command for a one-off check). */
  name: string;
  status: Status;
  /** 0 pass, 1 leaks, 2 the check could not be done. */
  exitCode: 0 | 1 | 2;
  command: string[];
  /** The app's working directory: relative paths in origins and stacks start here. */
  cwd: string;
  forkPoint: ForkPointReport;
  /** The server preset applied, and whether it was detected from the command. */
  preset?: { name: string; detected: boolean };
  /** Every fd open at the fork point other than stdio; allowed ones stay listed with `allowed: true`. */
  leaks: Leak[];
  rules: RuleUse[];
  /** Baseline entries of this check that matched no fd: the leak they record is gone. */
  stale: StaleEntry[];
  /** The whole table at the fork point (or, on error, when the check stopped), stdio included. */
  table: FdRecord[];
  error?: { code: string; message: string };
  durationMs: number;
  /** What made the report: its version, and the tracer that followed the app. */
  tool: { name: 'prefork-check'; version: string; tracer: TracerName };
}

/** What follows the app: strace, or prefork-check's own tracer (dist/native). */
export type TracerName = 'strace' | 'native';

/** A run of one or more checks: what the CLI reports and `--json` writes. */
export interface RunResult {
  status: Status;
  /** The worst of the checks': 2 if any could not be done, else 1 if any failed, else 0. */
  exitCode: 0 | 1 | 2;
  checks: Report[];
  /** This run's slice of the configured checks, with --shard. */
  shard?: { index: number; count: number };
  /**
   * `notUpdated`: why `--update-baseline` left the file as it was. `stale`: entries of checks the
   * config no longer has (renamed or removed), when the run covered the whole config.
   */
  baseline?: {
    file: string;
    updated: boolean;
    diff?: string;
    notUpdated?: string;
    stale?: StaleEntry[];
    /** The baseline named does not exist (and no update was asked for): nothing was excused by it. */
    missing?: true;
  };
  /** The config file the run used, and the settings it gave a check named on the command line (`forkMarker (line 2)`). */
  config?: { file: string; settings: string[] };
  tool: { name: 'prefork-check'; version: string };
}
