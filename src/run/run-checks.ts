import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { applyBaseline, entriesOfGoneChecks, updateBaseline } from '../baseline/apply-baseline.js';
import { baselineDiff } from '../baseline/baseline-diff.js';
import { formatBaseline, readBaseline, readBaselineText } from '../baseline/baseline-file.js';
import { normalizeContext } from '../baseline/normalize.js';
import { checkPreflighted, preflightCheck } from '../check/check-fork.js';
import { PreforkCheckError, isPreforkCheckError } from '../errors.js';
import type { CheckOptions } from '../options/options.js';
import { outputTarget, writeFileAtomic } from '../files/write-atomic.js';
import { withFileLock } from '../baseline/lock.js';
import { runResult } from '../report/verdict.js';
import type { RunResult } from '../report/types.js';
import { mapWithLimit } from './pool.js';
import { selectShard, type Shard } from './shard.js';

export interface RunPlan {
  checks: CheckOptions[];
  /** Where baseline keys and shown paths are relative to (the config's directory). */
  projectRoot: string;
  /** The baseline file; it may not exist yet. None: no baseline. */
  baselineFile?: string;
  updateBaseline?: boolean;
  /** Stale baseline entries fail the run. */
  strict?: boolean;
  /** Checks run at once. @default the number of cores */
  concurrency?: number;
  shard?: Shard;
  signal?: AbortSignal;
  /** The config the plan came from, shown in reports. */
  config?: RunResult['config'];
  /** The plan is every check of the config: baseline entries of any other check are stale. */
  wholeConfig?: boolean;
}

/**
 * Runs every check of the plan (its shard's share), up to `concurrency` at
 * once, then applies — or with `updateBaseline` rewrites — the baseline.
 * Rejects only when nothing could be checked (bad options, a broken baseline,
 * no strace); a check whose app fails is an error report among the others.
 */
export async function runChecks(plan: RunPlan): Promise<RunResult> {
  const checks = plan.shard ? selectShard(plan.checks, (check) => check.name ?? '', plan.shard) : plan.checks;
  const signal = plan.signal ? { signal: plan.signal } : {};
  // Every check is resolved and preflighted before any runs: a typo in the last fails at once.
  const resolved = checks.map((check) => {
    try {
      return preflightCheck({ ...check, ...signal });
    } catch (error) {
      if (isPreforkCheckError(error) && plan.checks.length > 1)
        throw new PreforkCheckError(error.code, `Check "${check.name}": ${error.message}`, { cause: error });
      throw error;
    }
  });
  const baselineFile = plan.baselineFile;
  const before = baselineFile === undefined ? undefined : readBaseline(baselineFile);
  const context = normalizeContext(plan.projectRoot);
  const strict = plan.strict ?? false;
  const allChecks = plan.wholeConfig ? new Set(plan.checks.map((check) => check.name ?? '')) : undefined;

  const reports = await mapWithLimit(resolved, plan.concurrency ?? availableParallelism(), (check) =>
    checkPreflighted(check),
  );

  let baseline: RunResult['baseline'];
  let current = before;
  // A check that could not be done says nothing about its leaks: with none done, nothing is written.
  const recorded = reports.some((report) => !report.error);
  if (baselineFile !== undefined && before !== undefined && plan.updateBaseline && recorded) {
    // Read again under the lock: a run in parallel may have updated it since.
    const { old, updated, changed } = await withFileLock(
      outputTarget(baselineFile, 'the baseline'),
      async () => {
        const { baseline: old, text: oldText } = readBaselineText(baselineFile);
        const updated = updateBaseline(old, reports, context, allChecks);
        const newText = formatBaseline(updated);
        if (oldText !== newText) await writeFileAtomic(baselineFile, newText, 'the baseline');
        return { old, updated, changed: oldText !== newText };
      },
      plan.signal,
    );
    current = updated;
    const shown = relative(plan.projectRoot, baselineFile) || baselineFile;
    baseline = {
      file: baselineFile,
      updated: changed,
      ...(changed ? { diff: baselineDiff(shown, old, updated) } : {}),
    };
  } else if (baselineFile !== undefined) {
    baseline = {
      file: baselineFile,
      updated: false,
      ...(plan.updateBaseline ? { notUpdated: 'no check reached its fork point' } : {}),
      ...(!plan.updateBaseline && !existsSync(baselineFile) ? { missing: true as const } : {}),
    };
  }
  const settled = current ? reports.map((report) => applyBaseline(report, current, context, strict)) : reports;
  const gone = current && allChecks ? entriesOfGoneChecks(current, allChecks) : [];
  if (baseline && gone.length > 0) baseline.stale = gone;
  return runResult(
    settled,
    {
      ...(plan.shard ? { shard: plan.shard } : {}),
      ...(baseline ? { baseline } : {}),
      ...(plan.config ? { config: plan.config } : {}),
    },
    strict && gone.length > 0,
  );
}
