import { RECORD_SYSCALL } from '../attribution/records.js';
import { SYSCALLS } from '../trace/syscalls.js';
import type { ForkPointSpec } from '../fork-point/spec.js';

/**
 * The syscalls a check needs: every fd-changing call, process life, the fork point's own, and
 * attribution records. `close` only where the table is not read from the kernel at the fork point.
 */
function tracedSyscalls(forkPoint: ForkPointSpec, attribution: boolean, closes: boolean): string[] {
  // Every way of putting bytes on stdout or stderr, only for a marker: it may come by any of them.
  const names = new Set(
    Object.keys(SYSCALLS).filter(
      (name) => forkPoint.mode === 'marker' || SYSCALLS[name]!.does.some((role) => role !== 'writes'),
    ),
  );
  if (attribution) names.add(RECORD_SYSCALL);
  if (!closes) names.delete('close');
  // A child that calls setsid() is daemonizing, not a worker.
  if (forkPoint.mode === 'first-fork') names.add('setsid');
  // `?`: an older strace that does not know the call skips it instead of failing.
  return [...names].map((name) => (SYSCALLS[name]?.optional ? `?${name}` : name));
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
  /** Also the kernel's table where the fork point may be: prefork-check's own tracer only. */
  kernelTables?: boolean;
}

/**
 * Whether the filter traps `close` everywhere: a table read from the kernel at the fork point has
 * every close in it already (close is most of the stops a start makes).
 */
export function tracesCloses({ kernelTables = false }: TraceOptions): boolean {
  return !kernelTables;
}

/**
 * prefork-check's own tracer writes the kernel's table of a process held where the fork point may
 * be: at its forks and its exit_group, and (for a marker) before each write to stdout or stderr
 * that holds the marker's last byte, the write the marker ends in. A first fork's worker is
 * followed afterwards, and what it closes of what it inherited, and where, is only in the trace:
 * forked children stop at every call, closes included (their parent's are not trapped).
 */
function kernelTableArguments(forkPoint: ForkPointSpec): string[] {
  if (forkPoint.mode === 'first-fork') return ['--fd-tables', '--closes-in-children'];
  if (forkPoint.mode !== 'marker') return ['--fd-tables'];
  return ['--fd-tables', '--marker-end', String(Buffer.from(forkPoint.marker).at(-1))];
}

/**
 * strace's arguments: follow forks, annotate fds with paths and socket addresses, print whole
 * records, and filter in the kernel. `output`: the trace's file, or (prefork-check's own tracer
 * only) an fd it inherits.
 */
export function straceArguments(options: TraceOptions, output: string | number, command: string[]): string[] {
  const { forkPoint, attribution, nativeStacks, kernelTables = false } = options;
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
    `trace=${tracedSyscalls(forkPoint, attribution, tracesCloses(options)).join(',')}`,
    ...(typeof output === 'number' ? ['--output-fd', String(output)] : ['-o', output]),
    ...(kernelTables ? kernelTableArguments(forkPoint) : []),
    '--',
    ...command,
  ];
}
