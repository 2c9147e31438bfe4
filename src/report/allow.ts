import { compileRule, type AllowRule } from '../rules/allow-rule.js';
import type { FdRecord, Leak, RuleUse } from './types.js';

/** Marks each record allowed by the first rule that matches it, and counts what each rule allowed. */
export function applyAllowRules(records: FdRecord[], rules: AllowRule[], projectRoot: string): { leaks: Leak[]; rules: RuleUse[] } {
  const compiled = rules.map((rule) => ({ ...compileRule(rule, projectRoot), allowed: 0 }));
  const leaks = records.map((record): Leak => {
    const rule = compiled.find((candidate) => candidate.matches(record));
    if (!rule) return { ...record, allowed: false };
    rule.allowed++;
    return { ...record, allowed: true, allowedBy: rule.label };
  });
  return { leaks, rules: compiled.map(({ label, allowed }) => ({ rule: label, allowed })) };
}
