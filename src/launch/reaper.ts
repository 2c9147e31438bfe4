import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findProgram } from './find-program.js';

// Runs beside strace, in a session of its own, and waits for EOF on its stdin: a pipe only we
// hold, so EOF comes however we end (SIGKILL, process.exit(), a crash). Then it freezes strace
// (SIGSTOP: a stopped tracer lets no tracee past its next traced call, and new children are
// still attached to it), kills every process the kernel says strace traces until none is left,
// and kills strace last. strace 6.1 has no --kill-on-exit, and a tracer that dies detaches its
// tracees, which then run on for ever. It also holds the trace fifo's read end (fd 3), so strace
// is never killed by SIGPIPE before it has been frozen.
// The strace it kills must still be ours: $2 is its start time (field 22 of /proc/PID/stat), so a
// pid the kernel has given to another process since is left alone.
const REAPER_SCRIPT = `
tracer=$1 started=$2
while read -r _; do :; done
stat=$(cat "/proc/$tracer/stat" 2>/dev/null) || exit 0
set -- \${stat##*) }
[ "\${20}" = "$started" ] || exit 0
kill -STOP "$tracer" 2>/dev/null || exit 0
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  found=
  for status in /proc/[0-9]*/status; do
    while read -r key value; do
      if [ "$key" = TracerPid: ]; then
        if [ "$value" = "$tracer" ]; then pid=\${status#/proc/}; kill -KILL "\${pid%/status}" 2>/dev/null; found=1; fi
        break
      fi
    done < "$status" 2>/dev/null
  done
  [ -z "$found" ] && break
done
kill -KILL -- "-$tracer" "$tracer" 2>/dev/null
exit 0
`;

export interface Reaper {
  /** Our run ended by itself and stopped everything: the reaper finds nothing to do and exits. */
  release(): void;
}

/** A process's start time (field 22 of /proc/PID/stat): with its pid, what names it for good. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Starts the reaper for strace `tracer`; `traceFd` is the trace fifo's read end. */
export function startReaper(tracer: number, traceFd: number, cwd: string): Reaper {
  const started = startTime(tracer);
  // Already gone: nothing of it to outlive us.
  if (started === undefined) return { release: () => undefined };
  const reaper = spawn(
    findProgram('bash', cwd) ?? '/bin/bash',
    ['-c', REAPER_SCRIPT, 'prefork-check-reaper', String(tracer), started],
    {
      stdio: ['pipe', 'ignore', 'ignore', traceFd],
      detached: true,
    },
  );
  reaper.on('error', () => undefined);
  reaper.unref();
  // The pipe must not keep our event loop alive either.
  (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return { release: () => reaper.stdin?.end() };
}
