import { FD_SYSCALLS } from '../model/fd-syscalls.js';
import { CLONE_CALLS } from '../model/process-model.js';
import { RECORD_SYSCALL } from '../attribution/records.js';
import { OUTPUT_SYSCALLS } from '../trace/output-syscalls.js';
import type { ForkPointSpec } from '../fork-point/spec.js';

/** Calls an older strace may not know; `?` makes it skip them instead of failing. */
const OPTIONAL = new Set([
  'clone3',
  'openat2',
  'close_range',
  'pidfd_open',
  'pidfd_getfd',
  'memfd_secret',
  'io_uring_setup',
  'pwritev2',
  'copy_file_range',
  'fsopen',
  'fsmount',
  'fspick',
  'open_tree',
  'landlock_create_ruleset',
]);

/** The syscalls a check needs: every fd-changing call, process life, the fork point's own, and attribution records. */
function tracedSyscalls(forkPoint: ForkPointSpec, attribution: boolean): string[] {
  const names = new Set([...FD_SYSCALLS, ...CLONE_CALLS, 'execve', 'execveat', 'exit_group']);
  if (attribution) names.add(RECORD_SYSCALL);
  // Every way of putting bytes on stdout or stderr: the marker may come by any of them.
  if (forkPoint.mode === 'marker') for (const name of Object.keys(OUTPUT_SYSCALLS)) names.add(name);
  // A child that calls setsid() is daemonizing, not a worker.
  if (forkPoint.mode === 'first-fork') names.add('setsid');
  return [...names].map((name) => (OPTIONAL.has(name) ? `?${name}` : name));
}

/** Longest attribution record the bootstrap writes is under this. */
const RECORD_LIMIT = 4096;
/** Without records no string is read: the marker comes from the app's own output, not the trace. */
const NO_STRINGS = 16;

export interface TraceOptions {
  forkPoint: ForkPointSpec;
  attribution: boolean;
  /** strace -k: the native stack after each traced syscall. */
  nativeStacks: boolean;
}

/** strace's arguments: follow forks, annotate fds with paths and socket addresses, print whole records, and filter in the kernel. */
export function straceArguments(
  { forkPoint, attribution, nativeStacks }: TraceOptions,
  output: string,
  command: string[],
): string[] {
  return [
    '-f',
    '-q',
    '-y',
    '-yy',
    ...(nativeStacks ? ['-k'] : []),
    '--seccomp-bpf',
    '-s',
    String(attribution ? RECORD_LIMIT : NO_STRINGS),
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
