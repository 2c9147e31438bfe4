import { FD_SYSCALLS } from '../model/fd-syscalls.js';
import { CLONE_CALLS } from '../model/process-model.js';
import type { ForkPointSpec } from '../options.js';

/** Calls an older strace may not know; `?` makes it skip them instead of failing. */
const OPTIONAL = new Set(['clone3', 'openat2', 'close_range', 'pidfd_open', 'pidfd_getfd', 'memfd_secret', 'io_uring_setup']);

/** The syscalls a check needs: every fd-changing call, process life, and the fork point's own. */
export function tracedSyscalls(forkPoint: ForkPointSpec): string[] {
  const names = new Set([...FD_SYSCALLS, ...CLONE_CALLS, 'execve', 'execveat', 'exit_group']);
  if (forkPoint.mode === 'marker') {
    names.add('write');
    names.add('writev');
  }
  return [...names].map((name) => (OPTIONAL.has(name) ? `?${name}` : name));
}

/** strace's arguments: follow forks, annotate fds, print whole marker writes, and filter in the kernel. */
export function straceArguments(forkPoint: ForkPointSpec, output: string, command: string[]): string[] {
  const stringLimit = forkPoint.mode === 'marker' ? Math.max(1024, Buffer.byteLength(forkPoint.marker) * 4) : 32;
  return [
    '-f',
    '-q',
    '-y',
    '-yy',
    '--seccomp-bpf',
    '-s',
    String(stringLimit),
    '-e',
    'signal=none',
    '-e',
    `trace=${tracedSyscalls(forkPoint).join(',')}`,
    '-o',
    output,
    '--',
    ...command,
  ];
}
