import { settle } from '../report/verdict.js';
import type { Leak, Report } from '../report/types.js';
import { entryKey, type Baseline, type BaselineEntry } from './baseline-file.js';
import { creationSite, normalizeTarget, type NormalizeContext } from './normalize.js';

const BASELINE_RULE = 'baseline';

/** The entry a leak would be recorded as (count 1, no note). */
function entryFor(check: string, leak: Leak, context: NormalizeContext): BaselineEntry {
  return {
    check,
    kind: leak.kind,
    target: normalizeTarget(leak, context),
    site: creationSite(leak),
    count: 1,
    note: '',
  };
}

/** Leaks the baseline records: those no allow rule excused. */
function recordable(leak: Leak): boolean {
  return !leak.allowed || leak.allowedBy === BASELINE_RULE;
}

/**
 * Excuses each leak the baseline records and lists the check's entries that
 * matched nothing as stale. A check that errored says nothing about staleness.
 */
export function applyBaseline(report: Report, baseline: Baseline, context: NormalizeContext, strict: boolean): Report {
  const entries = new Map(
    baseline.entries.filter((entry) => entry.check === report.name).map((entry) => [entryKey(entry), entry]),
  );
  const used = new Set<string>();
  const leaks = report.leaks.map((leak): Leak => {
    if (leak.allowed) return leak;
    const key = entryKey(entryFor(report.name, leak, context));
    if (!entries.has(key)) return leak;
    used.add(key);
    return { ...leak, allowed: true, allowedBy: BASELINE_RULE, baselineKey: key };
  });
  const stale = report.error
    ? []
    : [...entries]
        .filter(([key]) => !used.has(key))
        .map(([key, entry]) => ({ key, ...(entry.note ? { note: entry.note } : {}) }));
  return settle({ ...report, leaks, stale }, strict);
}

/**
 * The baseline after this run: the checks that ran to their fork point are
 * re-recorded (notes kept by key); others — errored, or not run here (another
 * shard) — keep their entries.
 */
export function updateBaseline(old: Baseline, reports: Report[], context: NormalizeContext): Baseline {
  const rerecorded = new Set(reports.filter((report) => !report.error).map((report) => report.name));
  const notes = new Map(old.entries.map((entry) => [entryKey(entry), entry.note]));
  const fresh = new Map<string, BaselineEntry>();
  for (const report of reports) {
    if (report.error) continue;
    for (const leak of report.leaks.filter(recordable)) {
      const entry = entryFor(report.name, leak, context);
      const key = entryKey(entry);
      const known = fresh.get(key);
      if (known) known.count++;
      else fresh.set(key, { ...entry, note: notes.get(key) ?? '' });
    }
  }
  const kept = old.entries.filter((entry) => !rerecorded.has(entry.check));
  return { version: 1, entries: [...kept, ...fresh.values()] };
}
