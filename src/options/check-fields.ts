import {
  checkBoolean,
  checkNumber,
  checkString,
  checkStringArray,
  checkStringMap,
  describeValue,
} from '../json/shape.js';
import type { Problems } from '../json/shape.js';
import { PRESET_NAMES } from '../presets/presets.js';
import { validateRule } from '../rules/validate-rule.js';
import { DEFAULTS, SECONDS_RANGE, TRACER_ENV, TRACER_CHOICES, isTracerChoice, type CheckOptions } from './options.js';

/**
 * How a field is written: its JSON type in the config (and schema), and how a
 * flag's text becomes it.
 * - text, texts: a string; an array of strings (`command`).
 * - on: true or false; its flag sets true. off: true or false; its flag (`--no-x`) sets false.
 * - seconds: a number of seconds in SECONDS_RANGE. env: an object of strings. rules: allow rules (a flag gives globs).
 * - preset: a server preset's name, or none. tracer: strace or native.
 * - value: anything the API takes as it is (a function, an AbortSignal, one of a few words).
 */
export type FieldType = 'text' | 'texts' | 'on' | 'off' | 'seconds' | 'env' | 'rules' | 'preset' | 'tracer' | 'value';

export interface CheckField {
  type: FieldType;
  /**
   * What it does, in one line, written once: --help shows it beside the flag, and the JSON Schema's
   * description and CheckOptions' JSDoc are made from it (fieldDescription). An `off` field's help
   * says what its flag turns off.
   */
  help: string;
  /** The flag that sets it for every check (a `rules` flag repeats), and its value's name in --help. */
  flag?: { name: string; value?: string };
  /** Not a config file's field: a flag's or the API's only (this machine's tool, a run's own debugging, a callback). */
  notInConfig?: true;
  /** Kept for older configs and scripts, with no effect. */
  deprecated?: true;
}

/**
 * Every option a check takes (every key of CheckOptions: the type says if one is missing),
 * declared once: the config's keys (CheckConfig) and their validation, the JSON Schema, the
 * command-line flags that override them and their --help lines all come from here.
 */
const FIELDS = {
  name: {
    type: 'text',
    help: "the check's name in reports, which keys its baseline entries (default: the command as typed)",
    flag: { name: 'name', value: 'text' },
  },
  entry: {
    type: 'text',
    help: 'a Python file to run (a .rb file runs with ruby); a check takes either entry or command',
  },
  command: { type: 'texts', help: 'the command and its arguments, e.g. ["gunicorn", "--preload", "app:app"]' },
  python: {
    type: 'text',
    help: `interpreter for --entry (default ${DEFAULTS.python}, ruby for .rb)`,
    flag: { name: 'python', value: 'path' },
  },
  forkMarker: {
    type: 'text',
    help: 'fork point: the app writes this text to stdout or stderr',
    flag: { name: 'fork-marker', value: 'text' },
  },
  forkAtFirstFork: {
    type: 'on',
    help: 'fork point: the first fork() that creates a worker',
    flag: { name: 'fork-at-first-fork' },
  },
  timeout: {
    type: 'seconds',
    help: `stop and fail (exit 2) if the fork point is not reached (default ${DEFAULTS.timeout})`,
    flag: { name: 'timeout', value: 'seconds' },
  },
  cwd: { type: 'text', help: 'working directory of the app (default: the current one)' },
  env: { type: 'env', help: 'extra environment for the app' },
  allow: {
    type: 'rules',
    help: "excuse fds whose target matches (repeatable), e.g. '/var/log/**'",
    flag: { name: 'allow', value: 'glob' },
  },
  inheritFds: {
    type: 'on',
    help: 'pass on fds prefork-check itself inherited (reported as inherited)',
    flag: { name: 'inherit-fds' },
  },
  attribution: {
    type: 'off',
    help: 'do not load the Python and Ruby bootstraps that name the source line of each fd (origin is then null)',
    flag: { name: 'no-attribution' },
  },
  nativeStacks: {
    type: 'on',
    help: "also record each fd's native (C) stack as nativeStack (strace -k: several ms per traced syscall)",
    flag: { name: 'native-stacks' },
  },
  preset: {
    type: 'preset',
    help: `the server (${PRESET_NAMES.join(', ')}, or none): its fork point, and its own fds allowed by their role (default: detected from the command)`,
    flag: { name: 'preset', value: 'name' },
  },
  deep: {
    type: 'on',
    help: 'no effect, kept for older configs and scripts: every check traces every fd syscall in one start of the app',
    flag: { name: 'deep' },
    notInConfig: true,
    deprecated: true,
  },
  strace: {
    type: 'text',
    help: `the strace binary to run (default: ${DEFAULTS.strace} on PATH)`,
    flag: { name: 'strace', value: 'path' },
    notInConfig: true,
  },
  tracer: {
    type: 'tracer',
    help: `the tracer: native (prefork-check's own: no strace needed, fewer stops), strace, or auto: native where it can run (linux-x64 or -arm64, Linux ≥ 5.3), else strace, and strace for --native-stacks or --strace (default: $${TRACER_ENV}, else ${DEFAULTS.tracer})`,
    flag: { name: 'tracer', value: 'name' },
  },
  traceOut: {
    type: 'text',
    help: "also save the tracer's raw output (to debug the check itself)",
    flag: { name: 'trace-out', value: 'file' },
    notInConfig: true,
  },
  appOutput: {
    type: 'value',
    help: "the app's stdout and stderr: inherit (the default), stderr (our stdout carries a report) or ignore (read for a marker only); the command line picks it from its reports",
    notInConfig: true,
  },
  onForkPoint: {
    type: 'value',
    help: 'called with the pid at the fork point, while the app is still alive, before it is stopped',
    notInConfig: true,
  },
  signal: { type: 'value', help: 'an AbortSignal: aborting it stops the check and kills the app', notInConfig: true },
} satisfies { [Key in keyof CheckOptions]-?: CheckField };

type FieldKey = keyof typeof FIELDS;
/** The fields a config file may set. */
type ConfigKey = { [Key in FieldKey]: (typeof FIELDS)[Key] extends { notInConfig: true } ? never : Key }[FieldKey];

export const CHECK_FIELDS: Record<FieldKey, CheckField> = FIELDS;

/** One check as the config file writes it: the table's fields. Top-level fields of these kinds are defaults for every check. */
export type CheckConfig = Pick<CheckOptions, ConfigKey>;

/** The config's keys. */
export const CHECK_KEYS = (Object.keys(CHECK_FIELDS) as FieldKey[]).filter(
  (key): key is ConfigKey => !CHECK_FIELDS[key].notInConfig,
);

/** Every field with a flag, in the table's order: the flags that override every check. */
export const FLAG_KEYS = (Object.keys(CHECK_FIELDS) as FieldKey[]).filter((key) => CHECK_FIELDS[key].flag);

/**
 * A field's description as the JSON Schema and CheckOptions' JSDoc give it: its help as a sentence,
 * an `off` field's read from the option's side, and the flag that overrides it.
 */
export function fieldDescription(key: FieldKey): string {
  const { type, help, flag } = CHECK_FIELDS[key];
  const sentence = help.charAt(0).toUpperCase() + help.slice(1) + '.';
  if (type === 'off') return `On unless false. false (--${flag!.name}): ${help}.`;
  return flag ? `${sentence} Flag: --${flag.name}.` : sentence;
}

/** Checks one field's value as the config gives it; problems name `path`. */
export function validateField(field: CheckField, value: unknown, path: string, problems: Problems): void {
  switch (field.type) {
    case 'text':
      checkString(value, path, problems);
      return;
    case 'texts':
      if (checkStringArray(value, path, problems) && value.length === 0)
        problems.push(`${path}: expected at least the program`);
      return;
    case 'on':
    case 'off':
      checkBoolean(value, path, problems);
      return;
    case 'seconds':
      checkNumber(value, path, problems, SECONDS_RANGE);
      return;
    case 'env':
      checkStringMap(value, path, problems);
      return;
    case 'rules':
      if (!Array.isArray(value)) problems.push(`${path}: expected an array of rules`);
      else value.forEach((rule, i) => validateRule(rule, `${path}[${i}]`, problems));
      return;
    case 'preset':
      if (!(['none', ...PRESET_NAMES] as unknown[]).includes(value))
        problems.push(`${path}: expected one of ${PRESET_NAMES.join(', ')} or none, got ${describeValue(value)}`);
      return;
    case 'tracer':
      if (!isTracerChoice(value))
        problems.push(`${path}: expected one of ${TRACER_CHOICES.join(', ')}, got ${describeValue(value)}`);
      return;
    case 'value':
      // Not in a config: resolveOptions takes it as the API gives it.
      return;
  }
}

const HELP_WIDTH = 96;
const HELP_INDENT = 27;

/** `  --fork-marker <text>     the app writes ...`: a flag's --help line, from the table, wrapped. */
export function helpLine(key: FieldKey): string {
  const { flag, help } = CHECK_FIELDS[key];
  if (!flag) throw new Error(`${key} has no flag`);
  const lines = [`  ${`--${flag.name}${flag.value ? ` <${flag.value}>` : ''}`.padEnd(HELP_INDENT - 2)}`];
  for (const word of help.split(' ')) {
    const last = lines.length - 1;
    if (lines[last]!.length > HELP_INDENT && lines[last]!.length + 1 + word.length > HELP_WIDTH)
      lines.push(' '.repeat(HELP_INDENT) + word);
    else lines[last] += (lines[last]!.length > HELP_INDENT ? ' ' : '') + word;
  }
  return lines.join('\n');
}
