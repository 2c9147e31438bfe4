import { FD_SYSCALLS } from '../model/fd-syscalls.js';
import { CLONE_CALLS } from '../model/process-model.js';
import { RECORD_SYSCALL } from '../attribution/records.js';
import type { ForkPointSpec } from '../options.js';

/** Calls an older strace may not know; `?` makes it skip them instead of failing. */
const OPTIONAL = new Set(['clone3', 'openat2', 'close_range', 'pidfd_open', 'pidfd_getfd', 'memfd_secret', 'io_uring_setup']);

/** The syscalls a check needs: every fd-changing call, process life, attribution records, and the fork point's own. */
export function tracedSyscalls(forkPoint: ForkPointSpec, attribution: boolean): string[] {
  const names = new Set([...FD_SYSCALLS, ...CLONE_CALLS, 'execve', 'execveat', 'exit_group']);
  if (attribution) names.add(RECORD_SYSCALL);
  if (forkPoint.mode === 'marker') {
    names.add('write');
    names.add('writev');
  }
  return [...names].map((name) => (OPTIONAL.has(name) ? `?${name}` : name));
}

/** Longest attribution record the bootstrap writes is under this. */
const RECORD_LIMIT = 4096;

/** strace's arguments: follow forks, annotate fds, print whole records and marker writes, and filter in the kernel. */
export function straceArguments(forkPoint: ForkPointSpec, attribution: boolean, output: string, command: string[]): string[] {
  const markerLimit = forkPoint.mode === 'marker' ? Math.max(1024, Buffer.byteLength(forkPoint.marker) * 4) : 32;
  const stringLimit = attribution ? Math.max(RECORD_LIMIT, markerLimit) : markerLimit;
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
    `trace=${tracedSyscalls(forkPoint, attribution).join(',')}`,
    '-o',
    output,
    '--',
    ...command,
  ];
}
