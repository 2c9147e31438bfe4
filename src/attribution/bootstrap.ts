import { randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

/** The directory holding the Python bootstrap (`sitecustomize.py`), shipped beside dist/. */
export const BOOTSTRAP_DIR = join(PACKAGE_ROOT, 'python');

/** A fresh secret per run: records without it are the app's own writes, not ours. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Environment that makes every Python process of the app load the bootstrap. */
export function bootstrapEnv(token: string, env: Record<string, string | undefined>): Record<string, string> {
  const pythonPath = env.PYTHONPATH ? `${BOOTSTRAP_DIR}${delimiter}${env.PYTHONPATH}` : BOOTSTRAP_DIR;
  return { PYTHONPATH: pythonPath, PREFORK_CHECK_TOKEN: token };
}
