import { existsSync } from 'node:fs';
import { PreforkCheckError } from '../errors.js';
import { BASELINE_LIMIT, parseJsonText, readText } from '../json/json-file.js';
import { lineOf } from '../json/json-locate.js';
import {
  checkNumber,
  checkObject,
  checkString,
  checkStringArray,
  describeValue,
  formatProblems,
  type Problems,
} from '../json/shape.js';
import { FD_KINDS, type FdKind } from '../model/open-file.js';
import { isFdKind } from '../rules/allow-rule.js';

/** The file name a project's baseline has unless told otherwise. */
export const DEFAULT_BASELINE = 'prefork-check.baseline.json';

/** One known leak: all fds of this kind and target made at this site, in this check. */
export interface BaselineEntry {
  check: string;
  kind: FdKind;
  /** Normalized: `<project>/...`, `<tmp>/*\/app.log`, `tcp 127.0.0.1:*`, `pipe`. */
  target: string;
  /** Innermost app frames as `file:function` (see creationSite). */
  site: string[];
  /** How many fds matched when it was recorded. */
  count: number;
  /** Yours: why this leak is accepted. Updates keep it. */
  note: string;
}

export interface Baseline {
  version: 1;
  entries: BaselineEntry[];
}

const ENTRY_FIELDS = ['check', 'kind', 'target', 'site', 'count', 'note'] as const;

export function entryKey(entry: Pick<BaselineEntry, 'check' | 'kind' | 'target' | 'site'>): string {
  return `${entry.check} | ${entry.kind} ${entry.target} @ ${entry.site.join(' < ')}`;
}

function validate(value: unknown, problems: Problems): value is Baseline {
  if (!checkObject(value, 'the file', ['version', 'entries'], problems)) return false;
  if (value.version !== 1) problems.push(`version: expected 1, got ${describeValue(value.version)}`);
  if (!Array.isArray(value.entries)) {
    problems.push(`entries: expected an array, got ${describeValue(value.entries)}`);
    return false;
  }
  const seen = new Set<string>();
  value.entries.forEach((entry: unknown, i) => {
    const path = `entries[${i}]`;
    if (!checkObject(entry, path, ENTRY_FIELDS, problems)) return;
    const ok = [
      checkString(entry.check, `${path}.check`, problems),
      checkString(entry.target, `${path}.target`, problems),
      checkStringArray(entry.site, `${path}.site`, problems),
      checkNumber(entry.count, `${path}.count`, problems, { integer: true, min: 1 }),
      checkString(entry.note, `${path}.note`, problems, { empty: true }),
    ].every(Boolean);
    if (!isFdKind(entry.kind))
      problems.push(`${path}.kind: expected one of ${FD_KINDS.join(', ')}, got ${describeValue(entry.kind)}`);
    else if (ok) {
      const key = entryKey(entry as unknown as BaselineEntry);
      if (seen.has(key)) problems.push(`${path}: the same leak is listed twice (${key})`);
      seen.add(key);
    }
  });
  return problems.length === 0;
}

/** Reads a baseline; a missing file is an empty one, a broken one an error naming file and line. */
export function readBaseline(file: string): Baseline {
  return readBaselineText(file).baseline;
}

/** The baseline and the text it was read from (empty for a file that does not exist yet). */
export function readBaselineText(file: string): { baseline: Baseline; text: string } {
  if (!existsSync(file)) return { baseline: { version: 1, entries: [] }, text: '' };
  const text = readText(file, 'INVALID_BASELINE', 'the baseline', BASELINE_LIMIT);
  const value = parseJsonText(text, file, 'INVALID_BASELINE', 'the baseline');
  const problems: Problems = [];
  if (validate(value, problems)) return { baseline: value, text };
  const located = problems.map((problem) => {
    const path = /^entries\[(\d+)\](?:\.(\w+))?/.exec(problem);
    return path ? `${problem}${lineOf(text, ['entries', Number(path[1]), ...(path[2] ? [path[2]] : [])])}` : problem;
  });
  throw new PreforkCheckError(
    'INVALID_BASELINE',
    `The baseline ${file} is not valid:\n${formatProblems(located)}\nFix it by hand, or delete it and run with --update-baseline.`,
  );
}

/** Stable text: entries sorted by key, one field per line, so reviews see small diffs. */
export function formatBaseline(baseline: Baseline): string {
  const entries = [...baseline.entries].sort((a, b) => entryKey(a).localeCompare(entryKey(b)));
  return JSON.stringify({ version: 1, entries }, null, 2) + '\n';
}
