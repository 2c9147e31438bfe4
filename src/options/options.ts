import { PreforkCheckError } from '../errors.js';
import { PRESET_NAMES, detectPreset, presetNamed, type Preset, type PresetName } from '../presets/presets.js';
import type { ForkPointSpec } from '../fork-point/spec.js';
import type { AllowRule } from '../rules/allow-rule.js';
import { validateRule } from '../rules/validate-rule.js';

export interface CheckOptions {
  /** The check's name in reports. @default the command */
  name?: string;
  /** A Python file to run with `python` (a `.rb` file runs with `ruby`). Exactly one of `entry` and `command` is needed. */
  entry?: string;
  /** A command and its arguments, e.g. `['gunicorn', '--preload', 'app:app']`. */
  command?: string[];
  /**
   * Interpreter for `entry`.
   * @default 'python3' ('ruby' for a `.rb` entry)
   */
  python?: string;
  /** Fork point: the app writes this text to stdout or stderr. */
  forkMarker?: string;
  /**
   * Fork point: the first fork that creates a worker.
   * @default false
   */
  forkAtFirstFork?: boolean;
  /**
   * Seconds before the app is killed and the check ends with an error.
   * @default 30
   */
  timeout?: number;
  /** Allow rules: a string is a glob on the target; objects match path, directory, kind, socket or stack. */
  allow?: AllowRule[];
  /**
   * A server's fork point and own fds (gunicorn, celery, uwsgi, supervisor, unicorn, puma), or 'none'.
   * @default detected from the command
   */
  preset?: PresetName | 'none';
  /**
   * Pass on fds that prefork-check itself inherited (beyond stdio) to the app, reported as inherited.
   * @default false
   */
  inheritFds?: boolean;
  /**
   * No effect, kept for older configs and scripts: every check traces every fd
   * syscall, in one start of the app.
   * @deprecated
   */
  deep?: boolean;
  /**
   * Name the Python or Ruby line that made each fd, through a bootstrap every
   * Python and Ruby process of the app loads (PYTHONPATH, RUBYOPT). Off: plain
   * tracing, origin null.
   * @default true
   */
  attribution?: boolean;
  /**
   * Record the native (C) stack of every fd syscall with strace -k, and list
   * it for each fd as `nativeStack`: fds made by C code get a stack too. Costs
   * an unwind per traced syscall.
   * @default false
   */
  nativeStacks?: boolean;
  /**
   * Working directory of the app.
   * @default process.cwd()
   */
  cwd?: string;
  /** Extra environment variables for the app. */
  env?: Record<string, string>;
  /**
   * The app's stdout and stderr: passed on to ours as they come ('inherit'),
   * both to our stderr ('stderr': our stdout carries a report), or read for
   * the marker only ('ignore').
   * @default 'inherit'
   */
  appOutput?: 'inherit' | 'stderr' | 'ignore';
  /**
   * The strace binary.
   * @default 'strace' found on PATH
   */
  strace?: string;
  /** Also write strace's raw output to this file, for debugging the check itself. */
  traceOut?: string;
  /**
   * Called while the app is still alive at the fork point, before it is stopped
   * (e.g. to look at `/proc/PID/fd`). The app keeps running meanwhile.
   */
  onForkPoint?: (info: { pid: number }) => void | Promise<void>;
  /** Aborts the check; the process tree is killed. */
  signal?: AbortSignal;
}

export interface ResolvedOptions {
  name: string;
  command: string[];
  forkPoint: ForkPointSpec;
  timeoutMs: number;
  allow: AllowRule[];
  preset?: { preset: Preset; detected: boolean };
  inheritFds: boolean;
  attribution: boolean;
  nativeStacks: boolean;
  cwd: string;
  env: Record<string, string>;
  appOutput: 'inherit' | 'stderr' | 'ignore';
  strace: string;
  traceOut?: string;
  onForkPoint?: CheckOptions['onForkPoint'];
  signal?: AbortSignal;
}

/** The longest timeout Node's timers can wait for, in seconds. */
const MAX_TIMEOUT_S = Math.floor((2 ** 31 - 1) / 1000);
/**
 * Seconds as every option in seconds takes them (flag, config, API): Node's timers hold at most
 * 2^31 - 1 ms (a longer one fires at once), and below a millisecond there is nothing to wait for.
 */
export const SECONDS_RANGE = { min: 0.001, max: MAX_TIMEOUT_S } as const;

/** A number of seconds as milliseconds, or an error naming `name` (`timeout`, `--timeout`) and the value as given. */
export function timeoutMsOf(seconds: unknown, name: string, given: string = String(seconds)): number {
  if (
    typeof seconds !== 'number' ||
    !Number.isFinite(seconds) ||
    seconds < SECONDS_RANGE.min ||
    seconds > SECONDS_RANGE.max
  ) {
    invalid(
      `Expected \`${name}\` to be a number of seconds from ${SECONDS_RANGE.min} to ${MAX_TIMEOUT_S} (24.8 days), got \`${given}\`.`,
    );
  }
  return Math.round(seconds * 1000);
}

/** The defaults of the options that have one beyond "off", declared once for the code and --help. */
export const DEFAULTS = {
  python: 'python3',
  timeout: 30,
  strace: 'strace',
} as const;

function invalid(message: string): never {
  throw new PreforkCheckError('INVALID_OPTION', message);
}

/** Validates options once, with messages that name the option and the bad value. */
export function resolveOptions(options: CheckOptions): ResolvedOptions {
  const { entry, command } = options;
  if (entry !== undefined && command !== undefined && command.length > 0) {
    invalid('Expected either `entry` or a command after `--`, not both.');
  }
  let argv: string[];
  if (entry !== undefined) {
    if (typeof entry !== 'string' || entry === '')
      invalid(`Expected \`entry\` to be a file path, got \`${String(entry)}\`.`);
    argv = [options.python ?? (entry.endsWith('.rb') ? 'ruby' : DEFAULTS.python), entry];
  } else if (command !== undefined && command.length > 0) {
    if (!command.every((part) => typeof part === 'string')) invalid('Expected `command` to be an array of strings.');
    argv = command;
  } else {
    invalid('Nothing to check: give `--entry app.py` or a command after `--` (e.g. `-- gunicorn --preload app:app`).');
  }

  const marker = options.forkMarker;
  if (marker !== undefined && (typeof marker !== 'string' || marker === '')) {
    invalid(`Expected \`fork-marker\` to be a non-empty text, got \`${String(marker)}\`.`);
  }
  if (marker !== undefined && options.forkAtFirstFork) {
    invalid('Expected one fork point: `--fork-marker` or `--fork-at-first-fork`, not both.');
  }
  if (options.preset !== undefined && options.preset !== 'none' && !PRESET_NAMES.includes(options.preset)) {
    invalid(`Expected \`preset\` to be one of ${PRESET_NAMES.join(', ')} or none, got \`${String(options.preset)}\`.`);
  }
  const preset =
    options.preset === 'none'
      ? undefined
      : options.preset !== undefined
        ? { preset: presetNamed(options.preset), detected: false }
        : (() => {
            const detected = detectPreset(argv);
            return detected ? { preset: detected, detected: true } : undefined;
          })();
  // A server's first fork is its preset's (supervisord's counts the programs it spawns).
  const firstFork: ForkPointSpec =
    preset?.preset.forkPoint.mode === 'first-fork' ? preset.preset.forkPoint : { mode: 'first-fork' };
  const forkPoint: ForkPointSpec =
    marker !== undefined
      ? { mode: 'marker', marker }
      : options.forkAtFirstFork
        ? firstFork
        : (preset?.preset.forkPoint ?? { mode: 'exit' });

  const allow = options.allow ?? [];
  const problems: string[] = [];
  allow.forEach((rule, i) => validateRule(rule, `allow[${i}]`, problems));
  if (problems.length > 0) invalid(`Invalid allow rule: ${problems.join('; ')}.`);

  return {
    name: options.name ?? options.entry ?? argv.join(' '),
    command: argv,
    forkPoint,
    timeoutMs: timeoutMsOf(options.timeout ?? DEFAULTS.timeout, 'timeout'),
    allow,
    ...(preset ? { preset } : {}),
    inheritFds: options.inheritFds ?? false,
    attribution: options.attribution ?? true,
    nativeStacks: options.nativeStacks ?? false,
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? {},
    appOutput: options.appOutput ?? 'inherit',
    strace: options.strace ?? DEFAULTS.strace,
    ...(options.traceOut !== undefined ? { traceOut: options.traceOut } : {}),
    onForkPoint: options.onForkPoint,
    signal: options.signal,
  };
}
