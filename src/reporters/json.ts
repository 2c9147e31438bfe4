import type { RunResult } from '../report/types.js';

/** The whole run as JSON (the schema is the `RunResult` type); `prefork-check merge-reports` reads it back. */
export function formatJsonReport(result: RunResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}
