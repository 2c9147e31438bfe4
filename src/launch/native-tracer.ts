import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { PreforkCheckError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { makeFifosAhead } from './run-fifos.js';

/** Where `npm run build` puts the native tracer for this machine's architecture. */
export function nativeTracerPath(arch: string = process.arch): string {
  return join(PACKAGE_ROOT, 'dist', 'native', `prefork-tracer-linux-${arch}`);
}

/** The native tracer's path, or an error that says to use strace. */
export function findNativeTracer(): string {
  const why = whyNativeCannotRun();
  if (why === undefined) return nativeTracerPath();
  throw new PreforkCheckError(
    'TRACER_NOT_FOUND',
    `prefork-check's own tracer cannot run here: ${why}. Use \`--tracer strace\`.`,
  );
}

let cannotRun: { why: string | undefined } | undefined;

/**
 * Why prefork-check's own tracer cannot run on this machine, or undefined when it can: it is
 * built for the architecture, it starts (a noexec mount or a foreign binary does not), and the
 * kernel has PTRACE_GET_SYSCALL_INFO (5.3). Found out once per process: the answer cannot change.
 */
export function whyNativeCannotRun(): string | undefined {
  cannotRun ??= { why: findWhy() };
  return cannotRun.why;
}

function findWhy(): string | undefined {
  if (process.platform !== 'linux') return `it runs on Linux only, not ${process.platform}`;
  const path = nativeTracerPath();
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `it is not built for linux-${process.arch} (no executable ${path}; \`npm run build\` builds it where a C compiler is installed)`;
  }
  const [major = 0, minor = 0] = release()
    .split('.')
    .map((part) => parseInt(part, 10));
  if (major < 5 || (major === 5 && minor < 3)) return `it needs Linux 5.3 or later, and this is ${release()}`;
  // The probe also makes the first run's fifos: one program started where there were two.
  const ahead = makeFifosAhead();
  const probe = spawnSync(path, ['-V', ...(ahead ? ['--mkfifo', ...ahead.names.paths] : [])], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const said = probe.stdout?.startsWith('prefork-tracer') === true;
  ahead?.made(said && probe.status === 0);
  // 2 after the version: it runs, and only the fifos could not be made (the run makes its own).
  if (!said || (probe.status !== 0 && probe.status !== 2)) {
    // A failed spawn has an error and no output; a crash a signal.
    const how = probe.error?.message ?? (probe.signal ? `killed by ${probe.signal}` : probe.stderr.trim());
    return `${path} does not start (${how || `exit status ${String(probe.status)}`})`;
  }
  return undefined;
}
