import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PreforkCheckError } from '../errors.js';
import type { CheckOptions } from '../options/options.js';
import { CHECK_FIELDS, CHECK_KEYS, validateField, type CheckConfig } from '../options/check-fields.js';
import { parseJsonText, readText } from '../json/json-file.js';
import { lineNumber, lineOf } from '../json/json-locate.js';
import {
  checkBoolean,
  checkNumber,
  checkObject,
  checkString,
  formatProblems,
  isObject,
  type Problems,
} from '../json/shape.js';

const CONFIG_FILE = 'prefork-check.config.json';
const PACKAGE_FIELD = 'prefork-check';

export interface ConfigFile extends CheckConfig {
  /** The JSON Schema editors complete the config with (prefork-check.schema.json); not read otherwise. */
  $schema?: string;
  checks?: CheckConfig[];
  baseline?: string;
  strict?: boolean;
  concurrency?: number;
  reporters?: { json?: string; junit?: string };
}

/** A config read, validated and resolved against its directory. */
export interface LoadedConfig {
  /** Where it came from (`package.json` for the field), or undefined when there is none. */
  file?: string;
  /** The config's directory: relative paths in it, and baseline keys, start here. */
  root: string;
  /** Defaults every check inherits, also when the CLI names the app itself. */
  defaults: CheckConfig;
  checks: CheckOptions[];
  baseline?: string;
  strict?: boolean;
  concurrency?: number;
  reporters: { json?: string; junit?: string };
  /** Where each of `defaults` is set in the file: `forkMarker` → `line 3`. */
  defaultsAt: Partial<Record<string, string>>;
}

export const TOP_FIELDS = [
  '$schema',
  ...CHECK_KEYS,
  'checks',
  'baseline',
  'strict',
  'concurrency',
  'reporters',
] as const;

function validateCheck(value: Record<string, unknown>, path: string, problems: Problems): void {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  for (const key of CHECK_KEYS) {
    if (value[key] !== undefined) validateField(CHECK_FIELDS[key], value[key], at(key), problems);
  }
  if (value.entry !== undefined && value.command !== undefined)
    problems.push(`${path || 'the config'}: give "entry" or "command", not both`);
  if (value.forkMarker !== undefined && value.forkAtFirstFork === true)
    problems.push(`${path || 'the config'}: give "forkMarker" or "forkAtFirstFork", not both`);
}

function validate(value: unknown, problems: Problems): value is ConfigFile {
  if (!checkObject(value, 'the config', TOP_FIELDS, problems)) return false;
  validateCheck(value, '', problems);
  if (value.$schema !== undefined) checkString(value.$schema, '$schema', problems);
  if (value.baseline !== undefined) checkString(value.baseline, 'baseline', problems);
  if (value.strict !== undefined) checkBoolean(value.strict, 'strict', problems);
  if (value.concurrency !== undefined)
    checkNumber(value.concurrency, 'concurrency', problems, { integer: true, min: 1 });
  if (value.reporters !== undefined && checkObject(value.reporters, 'reporters', ['json', 'junit'], problems)) {
    for (const [name, file] of Object.entries(value.reporters)) checkString(file, `reporters.${name}`, problems);
  }
  if (value.checks !== undefined) {
    if (!Array.isArray(value.checks) || value.checks.length === 0)
      problems.push('checks: expected a non-empty array of checks');
    else
      value.checks.forEach(
        (check: unknown, i) =>
          checkObject(check, `checks[${i}]`, CHECK_KEYS, problems) && validateCheck(check, `checks[${i}]`, problems),
      );
  }
  return problems.length === 0;
}

/** A check from the defaults and its own fields: its own win, allow rules and env add up. */
export function mergeCheck(defaults: CheckConfig, check: CheckConfig, root: string): CheckOptions {
  const merged: CheckConfig = {
    ...defaults,
    ...check,
    allow: [...(defaults.allow ?? []), ...(check.allow ?? [])],
    env: { ...defaults.env, ...check.env },
  };
  const { name, entry, command, cwd, env, allow } = merged;
  // The name keys the check's baseline entries: from the config as written, never a resolved path.
  const options: CheckOptions = {
    name: name ?? entry ?? command?.join(' ') ?? '',
    cwd: cwd === undefined ? root : resolve(root, cwd),
    env: env ?? {},
    allow: allow ?? [],
  };
  if (entry !== undefined) options.entry = isAbsolute(entry) ? entry : resolve(root, entry);
  // The rest are taken as they are.
  for (const key of CHECK_KEYS) {
    if (!(key in options) && merged[key] !== undefined) Object.assign(options, { [key]: merged[key] });
  }
  return options;
}

/** What marks a project's top directory: config discovery never looks above it. */
const ROOT_MARKERS = ['.git', 'package.json', 'pyproject.toml', 'setup.cfg', 'setup.py', 'Gemfile'];

/** The directories a config is looked for in, nearest first: `cwd` up to the project's top, or `cwd` alone when it has none. */
function searchedDirs(cwd: string): string[] {
  const dirs: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    dirs.push(dir);
    if (ROOT_MARKERS.some((marker) => existsSync(join(dir, marker)))) return dirs;
    if (dirname(dir) === dir) return [resolve(cwd)];
  }
}

/**
 * A config found by looking, not named by the user, is used only if the user could have put it
 * there: owned by us (or root) and writable by no one else. One planted by another user in a
 * shared directory (/tmp) is refused, with why.
 */
function assertTrusted(file: string): void {
  const stat = statSync(file);
  const uid = process.getuid?.() ?? 0;
  const problem =
    stat.uid !== uid && stat.uid !== 0
      ? `it belongs to another user (uid ${stat.uid})`
      : (stat.mode & 0o022) !== 0
        ? 'others can write to it'
        : undefined;
  if (problem !== undefined)
    throw new PreforkCheckError(
      'INVALID_CONFIG',
      `Refusing the config ${file}: ${problem}, so its allow rules and settings may not be yours. Fix its owner or mode (chmod go-w), or name a config with --config.`,
    );
}

function readConfigFile(file: string, explicit: boolean): { file: string; value: unknown; text: string } {
  if (!explicit) assertTrusted(file);
  const text = readText(file, 'INVALID_CONFIG', 'the config');
  return { file, value: parseJsonText(text, file, 'INVALID_CONFIG', 'the config'), text };
}

/**
 * The config to use: `explicit` (must exist), else the nearest prefork-check.config.json or
 * package.json field from `cwd` up to the project's top (the first directory with a .git,
 * package.json, pyproject.toml, setup.cfg, setup.py or Gemfile; `cwd` alone when there is none),
 * else none.
 */
function findConfig(
  cwd: string,
  explicit: string | undefined,
): { file: string; value: unknown; text: string } | undefined {
  if (explicit !== undefined) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file))
      throw new PreforkCheckError('INVALID_CONFIG', `The config file ${explicit} does not exist (looked in ${cwd}).`);
    return readConfigFile(file, true);
  }
  for (const dir of searchedDirs(cwd)) {
    const own = join(dir, CONFIG_FILE);
    if (existsSync(own)) return readConfigFile(own, false);
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const text = readText(pkg, 'INVALID_CONFIG', 'the package manifest');
      // npm tolerates a key given twice in a manifest; only our field is ours to judge.
      const manifest = parseJsonText(text, pkg, 'INVALID_CONFIG', 'the package manifest', false);
      if (!isObject(manifest) || manifest[PACKAGE_FIELD] === undefined) return undefined;
      assertTrusted(pkg);
      return { file: pkg, value: manifest[PACKAGE_FIELD], text };
    }
  }
  return undefined;
}

/** Reads, validates and resolves the project's config (an empty one when there is none). */
export function loadConfig(cwd: string, explicit?: string): LoadedConfig {
  const found = findConfig(cwd, explicit);
  if (!found) return { root: cwd, defaults: {}, checks: [], reporters: {}, defaultsAt: {} };
  // Paths in the config are under the package.json field when that is where it came from.
  const inPackage = found.file.endsWith('package.json') && explicit === undefined;
  const within = (parts: Array<string | number>) => (inPackage ? [PACKAGE_FIELD, ...parts] : parts);
  const problems: Problems = [];
  if (!validate(found.value, problems)) {
    const located = problems.map((problem) => {
      const path = /^([\w.[\]]+?)(?::| )/.exec(problem)?.[1] ?? '';
      const parts = path
        .split(/[.[\]]+/)
        .filter(Boolean)
        .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
      return `${problem}${lineOf(found.text, within(parts))}`;
    });
    throw new PreforkCheckError(
      'INVALID_CONFIG',
      `The config in ${found.file}${inPackage ? ` ("${PACKAGE_FIELD}" field)` : ''} is not valid:\n${formatProblems(located)}`,
    );
  }
  const config = found.value;
  const root = dirname(found.file);
  const defaults: CheckConfig = Object.fromEntries(
    CHECK_KEYS.filter((field) => field !== 'name')
      .map((field) => [field, config[field]])
      .filter(([, value]) => value !== undefined),
  );
  const listed =
    config.checks ??
    (config.entry !== undefined || config.command !== undefined ? [{ name: config.name } as CheckConfig] : []);
  const checks = listed.map((check) => mergeCheck(defaults, check, root));
  const names = checks.map((check) => check.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined)
    throw new PreforkCheckError(
      'INVALID_CONFIG',
      `The config in ${found.file} has two checks named "${twice}": give each a unique "name".`,
    );
  const defaultsAt = Object.fromEntries(
    Object.keys(defaults).flatMap((key) => {
      const line = lineNumber(found.text, within([key]));
      return line === undefined ? [] : [[key, `line ${line}`]];
    }),
  );
  return {
    file: found.file,
    root,
    defaults,
    defaultsAt,
    checks,
    ...(config.baseline !== undefined ? { baseline: resolve(root, config.baseline) } : {}),
    ...(config.strict !== undefined ? { strict: config.strict } : {}),
    ...(config.concurrency !== undefined ? { concurrency: config.concurrency } : {}),
    reporters: Object.fromEntries(
      Object.entries(config.reporters ?? {}).map(([name, file]) => [name, resolve(root, file)]),
    ),
  };
}
