import { randomBytes } from 'node:crypto';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the Python bootstrap (`sitecustomize.py`), shipped beside dist/. */
export const BOOTSTRAP_DIR = fileURLToPath(new URL('../../python', import.meta.url));

/** A fresh secret per run: records without it are the app's own writes, not ours. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** Environment that makes every Python process of the app load the bootstrap. */
export function bootstrapEnv(token: string, env: Record<string, string | undefined>): Record<string, string> {
  const pythonPath = env.PYTHONPATH ? `${BOOTSTRAP_DIR}${delimiter}${env.PYTHONPATH}` : BOOTSTRAP_DIR;
  return { PYTHONPATH: pythonPath, PREFORK_CHECK_TOKEN: token };
}
