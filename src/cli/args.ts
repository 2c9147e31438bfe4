import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PreforkCheckError } from '../errors.js';
import type { CheckOptions } from '../options.js';

export interface CliRequest {
  check: CheckOptions;
  json?: string;
  quiet: boolean;
  help: boolean;
  version: boolean;
}

const flags = {
  entry: { type: 'string' },
  python: { type: 'string' },
  'fork-marker': { type: 'string' },
  'fork-at-first-fork': { type: 'boolean' },
  timeout: { type: 'string' },
  allow: { type: 'string', multiple: true },
  json: { type: 'string' },
  'inherit-fds': { type: 'boolean' },
  'no-attribution': { type: 'boolean' },
  strace: { type: 'string' },
  'trace-out': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new PreforkCheckError('INVALID_OPTION', `Expected \`--timeout\` to be a positive number of seconds, got \`${text}\`.`);
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
    throw new PreforkCheckError('INVALID_OPTION', `${(error as Error).message.replace(/\. To specify a positional.*$/s, '.')} See \`prefork-check --help\`.`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `Unexpected argument \`${positionals[0]}\`. Put the app's command after \`--\` (e.g. \`prefork-check -- ${positionals.join(' ')}\`) or use \`--entry app.py\`.`,
    );
  }
  const check: CheckOptions = {
    ...(values.entry !== undefined ? { entry: values.entry } : {}),
    ...(command.length > 0 ? { command } : {}),
    ...(values.python !== undefined ? { python: values.python } : {}),
    ...(values['fork-marker'] !== undefined ? { forkMarker: values['fork-marker'] } : {}),
    forkAtFirstFork: values['fork-at-first-fork'] ?? false,
    ...(values.timeout !== undefined ? { timeout: parseTimeout(values.timeout) } : {}),
    allow: values.allow ?? [],
    inheritFds: values['inherit-fds'] ?? false,
    attribution: !(values['no-attribution'] ?? false),
    ...(values.strace !== undefined ? { strace: values.strace } : {}),
    ...(values['trace-out'] !== undefined ? { traceOut: values['trace-out'] } : {}),
  };
  return {
    check,
    ...(values.json !== undefined ? { json: values.json } : {}),
    quiet: values.quiet ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}
