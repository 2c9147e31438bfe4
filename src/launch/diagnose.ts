import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { PreforkCheckError } from '../errors.js';

/** The tracer as the user knows it: strace, or ours (it takes strace's arguments, so the same probe serves). */
function tracerName(tracer: string): string {
  return basename(tracer).startsWith('prefork-tracer') ? "prefork-check's tracer" : 'strace';
}

/** A trace of `true`: what strace says when it cannot trace here. */
function probe(strace: string): Promise<{ exitCode: number | undefined; stderr: string }> {
  return new Promise((resolve) => {
    execFile(strace, ['-f', '-qq', '-e', 'trace=none', '--', 'true'], (error, _stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({ exitCode: typeof code === 'number' ? code : undefined, stderr });
    });
  });
}

/**
 * strace could not trace. Finds out why (from its own words, or when it said
 * nothing, a trace of `true`) and turns the answer into an error that says
 * what to do. No probe runs before a check: strace's words before its first
 * trace line are held back from the app's output for this.
 */
export async function diagnoseStraceFailure(
  strace: string,
  exitCode: number | undefined,
  stderr?: string,
): Promise<PreforkCheckError> {
  const lines = (stderr || (await probe(strace)).stderr).trim().split('\n');
  // Container seccomp profiles refuse ptrace with EPERM, some with ENOSYS.
  const denied = lines.find((line) => /Operation not permitted|EPERM|Function not implemented|ENOSYS/.test(line));
  if (denied !== undefined) {
    return new PreforkCheckError(
      'PTRACE_NOT_PERMITTED',
      `${tracerName(strace)} may not trace processes here (it said: "${denied.trim()}"). prefork-check needs ptrace: in Docker add \`--cap-add=SYS_PTRACE\` (or a seccomp profile that allows ptrace), in Kubernetes add SYS_PTRACE to the container's securityContext capabilities, and on a host check /proc/sys/kernel/yama/ptrace_scope (0 or 1 works when prefork-check starts the app).`,
    );
  }
  const said = lines[0] ?? '';
  return new PreforkCheckError(
    'STRACE_FAILED',
    `${tracerName(strace)} exited${exitCode === undefined ? '' : ` with status ${exitCode}`} before the app started${said ? ` (it said: "${said}")` : ''}. Check that the command runs on its own.`,
  );
}
