import { PreforkCheckError } from '../errors.js';
import { PRESET_NAMES, detectPreset, presetNamed, type Preset, type PresetName } from '../presets/presets.js';
import type { ForkPointSpec } from '../fork-point/spec.js';
import type { AllowRule } from '../rules/allow-rule.js';
import type { TracerName } from '../report/types.js';
import { validateRule } from '../rules/validate-rule.js';

export interface CheckOptions {
  /**
   * The check's name in reports, which keys its baseline entries (default: the command as typed).
   * Flag: --name.
   */
  name?: string;
  /** A Python file to run (a .rb file runs with ruby); a check takes either entry or command. */
  entry?: string;
  /** The command and its arguments, e.g. ["gunicorn", "--preload", "app:app"]. */
  command?: string[];
  /** Interpreter for --entry (default python3, ruby for .rb). Flag: --python. */
  python?: string;
  /** Fork point: the app writes this text to stdout or stderr. Flag: --fork-marker. */
  forkMarker?: string;
  /** Fork point: the first fork() that creates a worker. Flag: --fork-at-first-fork. */
  forkAtFirstFork?: boolean;
  /** Stop and fail (exit 2) if the fork point is not reached (default 30). Flag: --timeout. */
  timeout?: number;
  /** Excuse fds whose target matches (repeatable), e.g. '/var/log/**'. Flag: --allow. */
  allow?: AllowRule[];
  /**
   * The server (gunicorn, celery, uwsgi, supervisor, unicorn, puma, multiprocessing, tornado, rq,
   * hypercorn, or none): its fork point, and its own fds allowed by their role (default: detected
   * from the command). Flag: --preset.
   */
  preset?: PresetName | 'none';
  /** Pass on fds prefork-check itself inherited (reported as inherited). Flag: --inherit-fds. */
  inheritFds?: boolean;
  /**
   * No effect, kept for older configs and scripts: every check traces every fd syscall in one start
   * of the app. Flag: --deep.
   * @deprecated
   */
  deep?: boolean;
  /**
   * On unless false. false (--no-attribution): do not load the Python and Ruby bootstraps that name
   * the source line of each fd (origin is then null).
   */
  attribution?: boolean;
  /**
   * Also record each fd's native (C) stack as nativeStack (strace -k: several ms per traced
   * syscall). Flag: --native-stacks.
   */
  nativeStacks?: boolean;
  /** Working directory of the app (default: the current one). */
  cwd?: string;
  /** Extra environment for the app. */
  env?: Record<string, string>;
  /**
   * The app's stdout and stderr: inherit (the default), stderr (our stdout carries a report) or
   * ignore (read for a marker only); the command line picks it from its reports.
   */
  appOutput?: 'inherit' | 'stderr' | 'ignore';
  /** The strace binary to run (default: strace on PATH). Flag: --strace. */
  strace?: string;
  /**
   * The tracer: native (prefork-check's own: no strace needed, fewer stops), strace, or auto:
   * native where it can run (linux-x64 or -arm64, Linux ≥ 5.3), else strace, and strace for
   * --native-stacks or --strace (default: $PREFORK_CHECK_TRACER, else auto). Flag: --tracer.
   */
  tracer?: TracerChoice;
  /** Also save the tracer's raw output (to debug the check itself). Flag: --trace-out. */
  traceOut?: string;
  /** Called with the pid at the fork point, while the app is still alive, before it is stopped. */
  onForkPoint?: (info: { pid: number }) => void | Promise<void>;
  /** An AbortSignal: aborting it stops the check and kills the app. */
  signal?: AbortSignal;
}

export interface ResolvedOptions {
  name: string;
  command: string[];
  forkPoint: ForkPointSpec;
  timeoutMs: number;
  allow: AllowRule[];
  preset?: { preset: Preset; detected: boolean };
  /** `--preset none`: no preset applies, and no note suggests one. */
  presetDeclined: boolean;
  inheritFds: boolean;
  attribution: boolean;
  nativeStacks: boolean;
  cwd: string;
  env: Record<string, string>;
  appOutput: 'inherit' | 'stderr' | 'ignore';
  strace: string;
  tracer: TracerChoice;
  traceOut?: string;
  onForkPoint?: CheckOptions['onForkPoint'];
  signal?: AbortSignal;
}

/** Options once preflight has settled the tracer: `strace` is then the path of the binary to start. */
export interface PreflightedOptions extends ResolvedOptions {
  tracer: TracerName;
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

/** The tracers a check may ask for: auto picks one of the others (TracerName, the report's word for the one that ran). */
export const TRACER_CHOICES = ['auto', 'strace', 'native'] as const satisfies readonly (TracerName | 'auto')[];
export type TracerChoice = (typeof TRACER_CHOICES)[number];
/** Sets the tracer where neither a flag nor a config names one (a whole suite run with the other tracer). */
export const TRACER_ENV = 'PREFORK_CHECK_TRACER';

/** The defaults of the options that have one beyond "off", declared once for the code and --help. */
export const DEFAULTS = {
  python: 'python3',
  timeout: 30,
  strace: 'strace',
  tracer: 'auto',
} as const;

export function isTracerChoice(value: unknown): value is TracerChoice {
  return (TRACER_CHOICES as readonly unknown[]).includes(value);
}

/** The tracer a check uses: as given, else $PREFORK_CHECK_TRACER, else the default. */
function resolveTracer(given: TracerChoice | undefined): TracerChoice {
  const fromEnv = process.env[TRACER_ENV] || undefined;
  const [value, source] = given !== undefined ? [given, '`tracer`'] : [fromEnv, `$${TRACER_ENV}`];
  if (value === undefined) return DEFAULTS.tracer;
  if (!isTracerChoice(value))
    invalid(`Expected ${source} to be one of ${TRACER_CHOICES.join(', ')}, got \`${String(value)}\`.`);
  return value;
}

/**
 * The tracer asked for, where `auto` already takes strace for what only strace does: unwinding
 * native stacks (strace -k), and running a strace binary the user named. Otherwise auto is
 * settled at preflight, by whether prefork-check's own tracer can run here.
 */
export function tracerFor(options: Pick<CheckOptions, 'tracer' | 'nativeStacks' | 'strace'>): TracerChoice {
  const tracer = resolveTracer(options.tracer);
  if (tracer === 'native' && options.nativeStacks)
    invalid('`nativeStacks` (--native-stacks) unwinds with strace -k: use it with the strace tracer.');
  return tracer === 'auto' && (options.nativeStacks || options.strace !== undefined) ? 'strace' : tracer;
}

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
            const detected = detectPreset(argv, options.cwd ?? process.cwd());
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
  const tracer = tracerFor(options);

  return {
    name: options.name ?? options.entry ?? argv.join(' '),
    command: argv,
    forkPoint,
    timeoutMs: timeoutMsOf(options.timeout ?? DEFAULTS.timeout, 'timeout'),
    allow,
    ...(preset ? { preset } : {}),
    presetDeclined: options.preset === 'none',
    inheritFds: options.inheritFds ?? false,
    attribution: options.attribution ?? true,
    nativeStacks: options.nativeStacks ?? false,
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? {},
    appOutput: options.appOutput ?? 'inherit',
    strace: options.strace ?? DEFAULTS.strace,
    tracer,
    ...(options.traceOut !== undefined ? { traceOut: options.traceOut } : {}),
    onForkPoint: options.onForkPoint,
    signal: options.signal,
  };
}
