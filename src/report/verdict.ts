import { version } from '../version.js';
import type { Report, RunResult } from './types.js';

/** Status and exit code from what is left: an error, leaks nothing excused, or (strict) stale baseline entries. */
export function settle(report: Report, strict: boolean): Report {
  const failing = report.leaks.some((leak) => !leak.allowed) || (strict && report.stale.length > 0);
  const status = report.error ? 'error' : failing ? 'fail' : 'pass';
  return { ...report, status, exitCode: status === 'error' ? 2 : status === 'fail' ? 1 : 0 };
}

/**
 * A run's verdict from its checks': 2 if any could not be done, else 1 if any failed (or `failing`:
 * under --strict, baseline entries of checks the config no longer has), else 0.
 */
function runVerdict(checks: Report[], failing = false): Pick<RunResult, 'status' | 'exitCode'> {
  const worst = checks.reduce<0 | 1 | 2>((code, check) => (check.exitCode > code ? check.exitCode : code), 0);
  const exitCode = failing && worst === 0 ? 1 : worst;
  return { status: exitCode === 2 ? 'error' : exitCode === 1 ? 'fail' : 'pass', exitCode };
}

/**
 * The run's result document from its checks, the one place it is made (a run, merged shards, a
 * watch): the verdict from the checks' (`failing`: see runVerdict), and what the run adds.
 */
export function runResult(
  checks: Report[],
  extra: Pick<RunResult, 'shard' | 'baseline' | 'config'> = {},
  failing = false,
): RunResult {
  return { ...runVerdict(checks, failing), checks, ...extra, tool: { name: 'prefork-check', version } };
}
