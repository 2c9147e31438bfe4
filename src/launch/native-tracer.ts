import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { PreforkCheckError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';

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
let probing: Promise<void> | undefined;

/**
 * Why prefork-check's own tracer cannot run on this machine, or undefined when it can: it is
 * built for the architecture, it starts (a noexec mount or a foreign binary does not), and the
 * kernel has PTRACE_GET_SYSCALL_INFO (5.3). Found out once per process: the answer cannot change.
 * Where probeNativeTracer() has settled, its answer; else the binary is started here, and waited for.
 */
export function whyNativeCannotRun(): string | undefined {
  cannotRun ??= { why: whyNotBuilt() ?? whyProbeFailed(spawnSync(nativeTracerPath(), ['-V'], PROBE)) };
  return cannotRun.why;
}

/**
 * Finds out the same in the background, so the `-V` run overlaps other work (the CLI starts it
 * before it loads the rest of its code): whyNativeCannotRun() then need not wait once this settles.
 */
export function probeNativeTracer(): Promise<void> {
  probing ??= (async () => {
    const why = whyNotBuilt() ?? whyProbeFailed(await probe(nativeTracerPath()));
    cannotRun ??= { why };
  })();
  return probing;
}

const PROBE = { encoding: 'utf8', timeout: 10_000 } as const;

interface ProbeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error | undefined;
}

/** `path -V`, as spawnSync would report it, without blocking. */
function probe(path: string): Promise<ProbeRun> {
  return new Promise((resolve) => {
    const run: ProbeRun = { status: null, stdout: '', stderr: '' };
    const child = spawn(path, ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Our own timer, not spawn's `timeout`: that one outlives a failed spawn and holds the CLI's exit.
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE.timeout);
    const settle = (result: ProbeRun) => {
      clearTimeout(timer);
      resolve(result);
    };
    child.stdout.setEncoding(PROBE.encoding).on('data', (text: string) => (run.stdout += text));
    child.stderr.setEncoding(PROBE.encoding).on('data', (text: string) => (run.stderr += text));
    child.once('error', (error) => settle({ ...run, error }));
    child.once('close', (status, signal) =>
      settle(
        signal
          ? { ...run, error: new Error(signal === 'SIGKILL' ? 'no answer within 10 s' : `killed by ${signal}`) }
          : { ...run, status },
      ),
    );
  });
}

/** Why the tracer cannot run, from what can be told without starting it. */
function whyNotBuilt(): string | undefined {
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
  return undefined;
}

function whyProbeFailed(run: ProbeRun): string | undefined {
  if (run.status === 0 && run.stdout.startsWith('prefork-tracer')) return undefined;
  return `${nativeTracerPath()} does not start (${run.error?.message ?? (run.stderr.trim() || `exit status ${String(run.status)}`)})`;
}
