import { accessSync, constants } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PreforkCheckError } from '../errors.js';

/** Fails early, before the app runs, when a report could not be written at the end. */
export function assertWritable(file: string, what = 'the report'): void {
  const dir = dirname(resolve(file));
  try {
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new PreforkCheckError('REPORT_WRITE_FAILED', `Cannot write ${what} ${file}: the directory ${dir} does not exist or is not writable.`, { cause: error });
  }
}

/** Temp file then rename: readers see the old file or the new one, never half of one. */
export async function writeFileAtomic(file: string, content: string, what = 'the report'): Promise<void> {
  const target = resolve(file);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(temp, content);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw new PreforkCheckError('REPORT_WRITE_FAILED', `Cannot write ${what} ${file}: ${(error as Error).message}`, { cause: error });
  }
}
