import { entryKey, type Baseline, type BaselineEntry } from './baseline-file.js';

/**
 * What an update changed, as `-`/`+` lines of each removed and added entry, laid out as in the
 * file. Entries are compared as whole entries, not lines: a hand-ordered baseline that the update
 * sorts shows only the entries that really changed, and 200,000 entries take well under a second
 * (a line diff of the two files took seconds and gigabytes).
 */
export function baselineDiff(shown: string, before: Baseline, after: Baseline): string {
  const { removed, added } = compare(before.entries, after.entries);
  // Removed before added where both name one leak (its count or note changed), in the file's order.
  const changes = [
    ...removed.map((entry) => ({ sign: '-', entry })),
    ...added.map((entry) => ({ sign: '+', entry })),
  ].sort((a, b) => entryKey(a.entry).localeCompare(entryKey(b.entry)) || (a.sign === '-' ? -1 : 1));
  const summary =
    changes.length === 0
      ? 'no entry changed; the file was rewritten in sorted order'
      : `${removed.length} removed, ${added.length} added; ${before.entries.length} entries before, ${after.entries.length} after`;
  return [
    `--- ${shown} (before)`,
    `+++ ${shown} (after)`,
    `@@ ${summary} @@`,
    ...changes.flatMap(({ sign, entry }) => layout(entry).map((line) => `${sign}${line}`)),
    '',
  ].join('\n');
}

/** The entries only `before` holds and those only `after` holds, counting repeats. */
function compare(before: BaselineEntry[], after: BaselineEntry[]) {
  const unmatched = new Map<string, BaselineEntry[]>();
  for (const entry of before) {
    const same = sameness(entry);
    const list = unmatched.get(same);
    if (list) list.push(entry);
    else unmatched.set(same, [entry]);
  }
  const added = after.filter((entry) => {
    const list = unmatched.get(sameness(entry));
    return list === undefined || list.pop() === undefined;
  });
  return { removed: [...unmatched.values()].flat(), added };
}

/** Equal for equal entries, whatever order a hand-edited file gave their keys. */
function sameness({ check, kind, target, site, count, note }: BaselineEntry): string {
  return JSON.stringify([check, kind, target, site, count, note]);
}

/** An entry's lines as formatBaseline writes them (inside `"entries": [`). */
function layout(entry: BaselineEntry): string[] {
  return JSON.stringify(entry, null, 2)
    .split('\n')
    .map((line) => `    ${line}`);
}
