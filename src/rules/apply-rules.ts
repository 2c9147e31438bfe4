import type { CompiledRule } from './allow-rule.js';
import type { FdRecord, Leak, RuleUse } from '../report/types.js';

/** Marks each record allowed by the first rule that matches it, and counts what each rule allowed. */
export function applyAllowRules(records: FdRecord[], rules: CompiledRule[]): { leaks: Leak[]; rules: RuleUse[] } {
  const counted = rules.map((rule) => ({ rule, allowed: 0 }));
  const leaks = records.map((record): Leak => {
    const use = counted.find((candidate) => candidate.rule.matches(record));
    if (!use) return { ...record, allowed: false };
    use.allowed++;
    return { ...record, allowed: true, excuse: { type: use.rule.preset ? 'preset' : 'rule', label: use.rule.label } };
  });
  return {
    leaks,
    rules: counted.map(({ rule, allowed }) => ({
      rule: rule.label,
      allowed,
      ...(rule.preset ? { preset: rule.preset } : {}),
    })),
  };
}
