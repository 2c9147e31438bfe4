import { settle } from '../report/verdict.js';
import type { Leak, Report, StaleEntry } from '../report/types.js';
import { entryKey, type Baseline, type BaselineEntry } from './baseline-file.js';
import { creationSite, normalizeTarget, type NormalizeContext } from './normalize.js';

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
  return !leak.allowed || leak.excuse?.type === 'baseline';
}

/**
 * Excuses each leak the baseline records, up to its entry's count: more fds than the count are
 * leaks (the lowest fds, made first, are the ones excused). Entries that matched nothing, or fewer
 * fds than their count, are listed as stale. A check that errored says nothing about staleness.
 */
export function applyBaseline(report: Report, baseline: Baseline, context: NormalizeContext, strict: boolean): Report {
  const entries = new Map(
    baseline.entries.filter((entry) => entry.check === report.name).map((entry) => [entryKey(entry), entry]),
  );
  const used = new Map<string, number>();
  const leaks = [...report.leaks]
    .sort((a, b) => a.fd - b.fd)
    .map((leak): Leak => {
      if (leak.allowed) return leak;
      const key = entryKey(entryFor(report.name, leak, context));
      const entry = entries.get(key);
      if (!entry) return leak;
      const seen = (used.get(key) ?? 0) + 1;
      used.set(key, seen);
      if (seen > entry.count) return { ...leak, beyondBaseline: { key, count: entry.count } };
      return { ...leak, allowed: true, excuse: { type: 'baseline', label: key }, baselineKey: key };
    });
  const order = new Map(report.leaks.map((leak, i) => [leak.fd, i]));
  leaks.sort((a, b) => order.get(a.fd)! - order.get(b.fd)!);
  const stale = report.error
    ? []
    : [...entries]
        .filter(([key, entry]) => (used.get(key) ?? 0) < entry.count)
        .map(([key, entry]) => staleEntry(key, entry, used.get(key) ?? 0));
  return settle({ ...report, leaks, stale }, strict);
}

/** An entry whose leak is gone (seen 0), or that lists more fds than are open now. */
function staleEntry(key: string, entry: BaselineEntry, seen: number): StaleEntry {
  return {
    key,
    ...(entry.note ? { note: entry.note } : {}),
    ...(seen > 0 ? { count: entry.count, seen } : {}),
  };
}

/**
 * The baseline after this run: the checks that ran to their fork point are
 * re-recorded (notes kept by key); others — errored, or not run here (another
 * shard) — keep their entries.
 */
export function updateBaseline(
  old: Baseline,
  reports: Report[],
  context: NormalizeContext,
  /** Every check the config has, when this run covered them all: entries of others are dropped. */
  allChecks?: ReadonlySet<string>,
): Baseline {
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
  const kept = old.entries.filter(
    (entry) => !rerecorded.has(entry.check) && (allChecks === undefined || allChecks.has(entry.check)),
  );
  return { version: 1, entries: [...kept, ...fresh.values()] };
}

/** Entries of checks the config no longer has (renamed or removed): stale, as a gone leak is. */
export function entriesOfGoneChecks(baseline: Baseline, allChecks: ReadonlySet<string>): StaleEntry[] {
  return baseline.entries
    .filter((entry) => !allChecks.has(entry.check))
    .map((entry) => ({ key: entryKey(entry), ...(entry.note ? { note: entry.note } : {}) }));
}
