import type { Leak, Report, RunResult } from '../report/types.js';
import { excuseWords } from './excuse-words.js';

/** A leak as the JSON report has it: `allowedBy` is its excuse in words. */
export type JsonLeak = Leak & { allowedBy?: string };
export type JsonReport = Omit<Report, 'leaks'> & { leaks: JsonLeak[] };
export type JsonRunResult = Omit<RunResult, 'checks'> & { checks: JsonReport[] };

/**
 * The whole run as JSON (the schema is the `RunResult` type, each leak with `allowedBy`: its
 * excuse in words); `prefork-check merge-reports` reads it back.
 */
export function formatJsonReport(result: RunResult): string {
  const checks = result.checks.map((check): JsonReport => ({
    ...check,
    leaks: check.leaks.map((leak) => {
      const allowedBy = excuseWords(leak);
      return allowedBy === undefined ? leak : { ...leak, allowedBy };
    }),
  }));
  const json: JsonRunResult = { ...result, checks };
  return JSON.stringify(json, null, 2) + '\n';
}
