import type { Report } from '../report/types.js';
import { writeFileAtomic } from './write-atomic.js';

/** The full report as JSON (the schema is the `Report` type). */
export async function writeJsonReport(report: Report, file: string): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(report, null, 2) + '\n');
}
