import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { expect, test } from 'vitest';
import { applyBaseline } from '../baseline/apply-baseline.js';
import { DEFAULT_BASELINE, readBaseline, type Baseline } from '../baseline/baseline-file.js';
import { normalizeContext } from '../baseline/normalize.js';
import { checkFork } from '../check/check-fork.js';
import { loadConfig, mergeCheck } from '../config/load-config.js';
import type { CheckOptions } from '../options/options.js';
import { isPreforkCheckError } from '../errors.js';
import { matchers, sourceFrames } from './matchers.js';

export interface ForkChecksOptions {
  /** Where the config, baseline and entries are looked up. @default process.cwd() */
  root?: string;
  /** A config file other than prefork-check.config.json. */
  config?: string;
  /** Instead of the config's checks: a check per file these tinyglobby patterns find, e.g. `services/*\/app.py`. */
  entries?: string | string[];
  /** Settings for every check found by `entries` (fork point, timeout, allow, ...), over the config's defaults. */
  check?: Omit<CheckOptions, 'entry' | 'command'>;
  /** Apply the project's baseline (the config's, or prefork-check.baseline.json when present). @default true */
  baseline?: boolean;
  /** Stale baseline entries fail their check. @default the config's `strict`, else false */
  strict?: boolean;
}

/** The checks `options` describe, and the baseline to hold them to. */
export function forkChecks(options: ForkChecksOptions = {}): {
  checks: CheckOptions[];
  baselineFile?: string;
  strict: boolean;
  root: string;
} {
  const root = resolve(options.root ?? process.cwd());
  const config = loadConfig(root, options.config);
  const checks =
    options.entries !== undefined
      ? globSync(options.entries, { cwd: config.root })
          .sort()
          .map((entry) => mergeCheck(config.defaults, { ...options.check, entry, name: entry }, config.root))
      : config.checks.map((check) => ({
          ...check,
          ...options.check,
          allow: [...(check.allow ?? []), ...(options.check?.allow ?? [])],
        }));
  const defaultBaseline = resolve(config.root, DEFAULT_BASELINE);
  const baselineFile =
    options.baseline === false
      ? undefined
      : (config.baseline ?? (existsSync(defaultBaseline) ? defaultBaseline : undefined));
  return {
    checks,
    ...(baselineFile ? { baselineFile } : {}),
    strict: options.strict ?? config.strict ?? false,
    root: config.root,
  };
}

/**
 * Registers one Vitest test per fork check: each runs the app under strace to
 * its fork point and fails, listing every leak with its creating line, when
 * anything beyond stdio (and the allowed and baselined) is open there.
 */
export function defineForkChecks(options: ForkChecksOptions = {}): void {
  expect.extend(matchers);
  let found: ReturnType<typeof forkChecks> & { baseline?: Baseline };
  try {
    found = forkChecks(options);
    if (found.baselineFile !== undefined) found.baseline = readBaseline(found.baselineFile);
  } catch (error) {
    // A broken config or baseline: one failing test that says so, not our stack.
    if (!isPreforkCheckError(error)) throw error;
    return failWith(error.message);
  }
  const { checks, baseline, strict, root } = found;
  if (checks.length === 0) {
    const config = loadConfig(root, options.config).file;
    return failWith(
      `No fork checks found: ${
        options.entries !== undefined
          ? `nothing matches ${String(options.entries)} in ${root}`
          : config === undefined
            ? `no prefork-check.config.json (nor a "prefork-check" field in package.json) was found in ${root} or above it, up to its project's top`
            : `the config ${config} lists none`
      }.`,
    );
  }
  const context = normalizeContext(root);
  for (const check of checks) {
    // The app's own timeout ends the check first; the test's leaves room for start-up and the report.
    const timeout = (check.timeout ?? 30) * 1000 + 15_000;
    test(`no fds leaked at the fork point: ${check.name}`, { timeout }, async () => {
      const raw = await checkFork(check);
      const report = baseline ? applyBaseline(raw, baseline, context, strict) : raw;
      try {
        expect(report).toHaveNoLeakedFds();
      } catch (error) {
        // Point the failure at the app's lines that made the leaks.
        const frames = sourceFrames(report);
        if (frames && error instanceof Error) error.stack = `${error.name}: ${error.message}\n${frames}`;
        throw error;
      }
    });
  }
}

/** One failing test whose message says why no check could be defined, without a stack of ours. */
function failWith(message: string): void {
  test('prefork-check: fork checks', () => {
    const error = new Error(message);
    error.stack = `Error: ${message}`;
    throw error;
  });
}
