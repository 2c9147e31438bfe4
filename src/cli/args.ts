import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PreforkCheckError } from '../errors.js';
import { timeoutMsOf, type CheckOptions } from '../options/options.js';
import { CHECK_FIELDS, FLAG_KEYS } from '../options/check-fields.js';
import type { WatchOptions } from '../watch/watch.js';
import { parseShard, type Shard } from '../run/shard.js';

/** `prefork-check watch`: load driven at a running server, fds sampled per step; `html` for the chart. */
export type WatchRequest = Pick<
  WatchOptions,
  'command' | 'request' | 'drive' | 'count' | 'warmup' | 'maxGrowth' | 'readyMarker' | 'readyPort'
> & { html?: string };

export interface CliRequest {
  watch?: WatchRequest;
  /** `merge-reports <files...>`: combine shards' JSON reports instead of running checks. */
  mergeReports?: string[];
  /** The app named on the command line (`--entry` or after `--`); without one, the config's checks run. */
  app?: Pick<CheckOptions, 'entry' | 'command'>;
  /** Flags that override every check's settings. */
  overrides: CheckOptions;
  config?: string;
  baseline?: string;
  updateBaseline: boolean;
  strict: boolean;
  concurrency?: number;
  shard?: Shard;
  /** --check: only the config's checks of these names. */
  only?: string[];
  json?: string;
  junit?: string;
  quiet: boolean;
  /** Allowed fds in full in the console report. */
  verbose: boolean;
  /** --help: the general help, or the subcommand's (`watch --help`). */
  help?: 'main' | 'watch' | 'merge-reports';
  version: boolean;
}

/** The flags that set a check field for every check, from the fields table. */
const fieldFlags = Object.fromEntries(
  FLAG_KEYS.flatMap((key) => {
    const { flag, type } = CHECK_FIELDS[key];
    if (!flag) return [];
    const option =
      type === 'on' || type === 'off'
        ? { type: 'boolean' as const }
        : { type: 'string' as const, multiple: type === 'rules' };
    return [[flag.name, option]];
  }),
) satisfies ParseArgsConfig['options'];

/** A field flag's value as the check takes it; undefined when the flag is absent. */
function fieldValue(
  key: (typeof FLAG_KEYS)[number],
  raw: string | boolean | Array<string | boolean> | undefined,
): unknown {
  if (raw === undefined || raw === false) return undefined;
  const { type, flag } = CHECK_FIELDS[key];
  switch (type) {
    case 'on':
      return true;
    case 'off':
      return false;
    case 'seconds':
      return seconds(`--${flag!.name}`, raw as string);
    // Everything else is checked where the options are resolved, for the config and the API alike.
    default:
      return raw;
  }
}

const flags = {
  ...fieldFlags,
  entry: { type: 'string' },
  config: { type: 'string' },
  baseline: { type: 'string' },
  'update-baseline': { type: 'boolean' },
  strict: { type: 'boolean' },
  json: { type: 'string' },
  junit: { type: 'string' },
  concurrency: { type: 'string' },
  shard: { type: 'string' },
  check: { type: 'string', multiple: true },
  request: { type: 'string' },
  requests: { type: 'string' },
  drive: { type: 'string' },
  warmup: { type: 'string' },
  'max-growth': { type: 'string' },
  'ready-marker': { type: 'string' },
  'ready-port': { type: 'string' },
  html: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

/** A flag's number of seconds, checked as every option in seconds is (timeoutMsOf). */
function seconds(flag: string, text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  timeoutMsOf(value, flag, text);
  return value;
}

function positiveNumber(flag: string, text: string | undefined, integer = false, zero = false): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (
    text.trim() === '' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (value === 0 && !zero) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `Expected \`--${flag}\` to be a positive ${integer ? 'whole number' : 'number'}, got \`${text}\`.`,
    );
  }
  return value;
}

/** argv → what to check and how to report it. Everything after `--` is the app's command. */
export function parseCli(argv: string[]): CliRequest {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  let parsed;
  try {
    parsed = parseArgs({ args: own, options: flags, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's messages run over two lines with advice in its own terms: keep the first sentence.
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '.');
    const flag = /Option '(--[\w-]+)'/.exec(message)?.[1];
    const hint =
      /ambiguous/.test(message) && flag ? ` For a value that starts with a dash, write \`${flag}=<value>\`.` : '';
    throw new PreforkCheckError('INVALID_OPTION', `${message}${hint} See \`prefork-check --help\`.`);
  }
  const { values, positionals } = parsed;
  const merging = positionals[0] === 'merge-reports';
  const watching = positionals[0] === 'watch';
  // Help is asked for, whatever else is wrong.
  if (values.help) {
    const help = watching ? 'watch' : merging ? 'merge-reports' : 'main';
    return { help, overrides: {}, updateBaseline: false, strict: false, quiet: false, verbose: false, version: false };
  }
  const watchFlags = [
    'request',
    'requests',
    'drive',
    'warmup',
    'max-growth',
    'ready-marker',
    'ready-port',
    'html',
  ] as const;
  const misplaced = watchFlags.find((flag) => values[flag] !== undefined);
  if (!watching && misplaced)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `\`--${misplaced}\` is for \`prefork-check watch\`. See \`prefork-check --help\`.`,
    );
  if (watching && positionals.length > 1)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `Unexpected argument \`${positionals[1]}\`: put the server's command after \`--\`.`,
    );
  if (merging && positionals.length < 2)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      'Expected JSON reports to merge: `prefork-check merge-reports shard-*.json --json all.json`.',
    );
  if (!merging && !watching && positionals.length > 0) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `Unexpected argument \`${positionals[0]}\`. Put the app's command after \`--\` (e.g. \`prefork-check -- ${positionals.join(' ')}\`) or use \`--entry app.py\`.`,
    );
  }
  const overrides: CheckOptions = {};
  for (const key of FLAG_KEYS) {
    const flag = CHECK_FIELDS[key].flag;
    const value =
      flag &&
      fieldValue(key, (values as Record<string, string | boolean | Array<string | boolean> | undefined>)[flag.name]);
    if (value !== undefined) Object.assign(overrides, { [key]: value });
  }

  if (values.entry !== undefined && values.entry.trim() === '')
    throw new PreforkCheckError('INVALID_OPTION', 'Expected `--entry` to name a Python file, got an empty path.');
  const app = values.entry !== undefined ? { entry: values.entry } : command.length > 0 ? { command } : undefined;
  if (values.entry !== undefined && command.length > 0)
    throw new PreforkCheckError('INVALID_OPTION', 'Expected either `--entry` or a command after `--`, not both.');
  const concurrency = positiveNumber('concurrency', values.concurrency, true);
  const watch: WatchRequest | undefined = watching
    ? {
        command,
        ...(values.request !== undefined ? { request: values.request } : {}),
        ...(values.drive !== undefined ? { drive: values.drive } : {}),
        ...(values.requests !== undefined ? { count: positiveNumber('requests', values.requests, true) } : {}),
        ...(values.warmup !== undefined ? { warmup: positiveNumber('warmup', values.warmup, true, true) } : {}),
        ...(values['max-growth'] !== undefined
          ? { maxGrowth: positiveNumber('max-growth', values['max-growth'], false, true) }
          : {}),
        ...(values['ready-marker'] !== undefined ? { readyMarker: values['ready-marker'] } : {}),
        ...(values['ready-port'] !== undefined
          ? { readyPort: positiveNumber('ready-port', values['ready-port'], true) }
          : {}),
        ...(values.html !== undefined ? { html: values.html } : {}),
      }
    : undefined;
  return {
    ...(watch ? { watch } : {}),
    ...(merging ? { mergeReports: positionals.slice(1) } : {}),
    ...(app ? { app } : {}),
    overrides,
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    updateBaseline: values['update-baseline'] ?? false,
    strict: values.strict ?? false,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(values.shard !== undefined ? { shard: parseShard(values.shard) } : {}),
    ...(values.check !== undefined ? { only: values.check } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(values.junit !== undefined ? { junit: values.junit } : {}),
    quiet: values.quiet ?? false,
    verbose: values.verbose ?? false,
    version: values.version ?? false,
  };
}
