import { FD_SYSCALLS } from '../model/fd-syscalls.js';
import { CLONE_CALLS } from '../model/process-model.js';
import { RECORD_SYSCALL } from '../attribution/records.js';
import type { ForkPointSpec } from '../options.js';

/** Calls an older strace may not know; `?` makes it skip them instead of failing. */
const OPTIONAL = new Set(['clone3', 'openat2', 'close_range', 'pidfd_open', 'pidfd_getfd', 'memfd_secret', 'io_uring_setup']);

/** What a trace is for: the full model of every fd (deep), or only finding the fork point (the fast screen). */
export interface TraceScope {
  fdModel: boolean;
  attribution: boolean;
}

/** The syscalls a check needs: process life and the fork point's own; every fd-changing call and attribution records when modelling. */
export function tracedSyscalls(forkPoint: ForkPointSpec, scope: TraceScope): string[] {
  const names = new Set([...(scope.fdModel ? FD_SYSCALLS : []), ...CLONE_CALLS, 'execve', 'execveat', 'exit_group']);
  if (scope.attribution) names.add(RECORD_SYSCALL);
  if (forkPoint.mode === 'marker') {
    names.add('write');
    names.add('writev');
  }
  return [...names].map((name) => (OPTIONAL.has(name) ? `?${name}` : name));
}

/** Longest attribution record the bootstrap writes is under this. */
const RECORD_LIMIT = 4096;

/** strace's arguments: follow forks, annotate fds, print whole records and marker writes, and filter in the kernel. */
export function straceArguments(forkPoint: ForkPointSpec, scope: TraceScope, output: string, command: string[]): string[] {
  const markerLimit = forkPoint.mode === 'marker' ? Math.max(1024, Buffer.byteLength(forkPoint.marker) * 4) : 32;
  const stringLimit = scope.attribution ? Math.max(RECORD_LIMIT, markerLimit) : markerLimit;
  return [
    '-f',
    '-q',
    '-y',
    // Socket addresses (-yy) cost a netlink query per fd argument: only the full model needs them.
    ...(scope.fdModel ? ['-yy'] : []),
    '--seccomp-bpf',
    '-s',
    String(stringLimit),
    '-e',
    'signal=none',
    '-e',
    `trace=${tracedSyscalls(forkPoint, scope).join(',')}`,
    '-o',
    output,
    '--',
    ...command,
  ];
}
