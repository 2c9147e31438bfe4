import { PreforkCheckError } from '../errors.js';
import { BASELINE_LIMIT, readJsonFile } from '../json/json-file.js';
import { isObject } from '../json/shape.js';
import { runResult } from '../report/verdict.js';
import type { Report, RunResult } from '../report/types.js';

/** Reads a JSON report written by `--json`; anything else is an error naming the file. */
export function readRunResult(file: string): RunResult {
  const value = readJsonFile(file, 'INVALID_REPORT', 'the report', BASELINE_LIMIT);
  const looksRight =
    isObject(value) &&
    Array.isArray(value.checks) &&
    value.checks.every(
      (check) =>
        isObject(check) && typeof check.name === 'string' && ['pass', 'fail', 'error'].includes(check.status as string),
    );
  if (!looksRight)
    throw new PreforkCheckError(
      'INVALID_REPORT',
      `${file} is not a prefork-check JSON report (written with --json): it has no "checks" list of check reports.`,
    );
  return value as unknown as RunResult;
}

/** One result from the shards' results: every check once, in name order, with the worst exit code. */
export function mergeRunResults(results: RunResult[]): RunResult {
  const byName = new Map<string, Report>();
  for (const result of results) {
    for (const check of result.checks) {
      if (byName.has(check.name))
        throw new PreforkCheckError(
          'INVALID_REPORT',
          `The check "${check.name}" is in more than one report: were the same shards merged twice?`,
        );
      byName.set(check.name, check);
    }
  }
  const checks = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return runResult(checks);
}
