import picomatch from 'picomatch';
import type { FdRecord, Leak } from './types.js';

/** Glob rules on an fd's target (picomatch syntax, dotfiles included). */
export function applyAllowRules(records: FdRecord[], rules: string[]): Leak[] {
  const matchers = rules.map((rule) => ({ rule, matches: picomatch(rule, { dot: true }) }));
  return records.map((record) => {
    const rule = matchers.find(({ matches }) => matches(record.target))?.rule;
    return rule === undefined ? { ...record, allowed: false } : { ...record, allowed: true, allowedBy: `--allow ${rule}` };
  });
}
