import { execa } from 'execa';
import { PreforkCheckError } from '../errors.js';

/**
 * strace produced no trace at all. Finds out why with a trace of `true`, and
 * turns the answer into an error that says what to do.
 */
export async function diagnoseStraceFailure(strace: string, exitCode: number | undefined): Promise<PreforkCheckError> {
  const probe = await execa(strace, ['-f', '-qq', '-e', 'trace=none', '--', 'true'], { reject: false, stdin: 'ignore' });
  const said = probe.stderr.trim().split('\n')[0] ?? '';
  if (probe.exitCode !== 0 && /Operation not permitted|EPERM/.test(probe.stderr)) {
    return new PreforkCheckError(
      'PTRACE_NOT_PERMITTED',
      `strace may not trace processes here (it said: "${said}"). prefork-check needs ptrace: in Docker add \`--cap-add=SYS_PTRACE\`, in Kubernetes add SYS_PTRACE to the container's securityContext capabilities, and on a host check /proc/sys/kernel/yama/ptrace_scope (0 or 1 works when prefork-check starts the app).`,
    );
  }
  return new PreforkCheckError(
    'STRACE_FAILED',
    `strace exited${exitCode === undefined ? '' : ` with status ${exitCode}`} before the app started${said ? ` (it said: "${said}")` : ''}. Check that the command runs on its own.`,
  );
}
