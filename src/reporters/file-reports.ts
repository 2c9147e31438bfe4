import type { RunResult } from '../report/types.js';
import { writeFileAtomic } from '../files/write-atomic.js';
import { formatJsonReport } from './json.js';
import { formatJunit } from './junit.js';

/** The reports a run writes to a file, by name: each is the whole run as one text. */
export const FILE_REPORTS = {
  json: formatJsonReport,
  junit: formatJunit,
} satisfies Record<string, (result: RunResult) => string>;

export type FileReportName = keyof typeof FILE_REPORTS;

/** Writes one report whole (never half a file), or to our stdout with `stdout`. */
export async function writeFileReport(
  name: FileReportName,
  result: RunResult,
  file: string,
  { stdout = false } = {},
): Promise<void> {
  const text = FILE_REPORTS[name](result);
  if (stdout) process.stdout.write(text);
  else await writeFileAtomic(file, text);
}

export async function writeJsonReport(result: RunResult, file: string): Promise<void> {
  await writeFileReport('json', result, file);
}

export async function writeJunitReport(result: RunResult, file: string): Promise<void> {
  await writeFileReport('junit', result, file);
}
