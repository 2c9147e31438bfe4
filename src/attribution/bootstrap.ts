import { randomHex } from '../files/random-hex.js';
import { delimiter, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

/** The directory holding the Python bootstrap (`sitecustomize.py`), shipped beside dist/. */
export const BOOTSTRAP_DIR = join(PACKAGE_ROOT, 'python');
/** The Ruby bootstrap, loaded with RUBYOPT=-r. */
export const RUBY_BOOTSTRAP = join(PACKAGE_ROOT, 'ruby', 'prefork_check_bootstrap.rb');

/** A fresh secret per run: records without it are the app's own writes, not ours. */
export function newToken(): string {
  return randomHex(16);
}

/**
 * Environment that makes every Python and Ruby process of the app load its bootstrap. `closes`:
 * forked children also announce their closes (the first worker is followed to its ready point).
 * `buffered`: the tracer (prefork-check's own) reads records out of a buffer per thread, so
 * Python writes them there instead of making a syscall (a stop) for each.
 */
export function bootstrapEnv(
  token: string,
  env: Record<string, string | undefined>,
  { closes = false, buffered = false } = {},
): Record<string, string> {
  const pythonPath = env.PYTHONPATH ? `${BOOTSTRAP_DIR}${delimiter}${env.PYTHONPATH}` : BOOTSTRAP_DIR;
  // Ruby splits RUBYOPT on spaces, so a path with one cannot be given: Ruby apps then go without lines.
  const rubyOpt = RUBY_BOOTSTRAP.includes(' ')
    ? env.RUBYOPT
    : [`-r${RUBY_BOOTSTRAP}`, env.RUBYOPT].filter(Boolean).join(' ');
  return {
    PYTHONPATH: pythonPath,
    ...(rubyOpt ? { RUBYOPT: rubyOpt } : {}),
    PREFORK_CHECK_TOKEN: token,
    ...(closes ? { PREFORK_CHECK_CLOSES: '1' } : {}),
    ...(buffered ? { PREFORK_CHECK_RECORD_BUFFER: '1' } : {}),
  };
}
