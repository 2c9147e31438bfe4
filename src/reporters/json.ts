import type { RunResult } from '../report/types.js';
import { writeFileAtomic } from '../files/write-atomic.js';

/** The whole run as JSON (the schema is the `RunResult` type); `prefork-check merge-reports` reads it back. */
export function formatJsonReport(result: RunResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

export async function writeJsonReport(result: RunResult, file: string): Promise<void> {
  await writeFileAtomic(file, formatJsonReport(result));
}
