import { spawn } from 'node:child_process';
import { findProgram } from './find-program.js';

// Runs beside strace, in a session of its own, and waits for EOF on its stdin: a pipe only we
// hold, so EOF comes however we end (SIGKILL, process.exit(), a crash). Then it freezes strace
// (SIGSTOP: a stopped tracer lets no tracee past its next traced call, and new children are
// still attached to it), kills every process the kernel says strace traces until none is left,
// and kills strace last. strace 6.1 has no --kill-on-exit, and a tracer that dies detaches its
// tracees, which then run on for ever. It also holds the trace fifo's read end (fd 3), so strace
// is never killed by SIGPIPE before it has been frozen.
const REAPER_SCRIPT = `
tracer=$1
while read -r _; do :; done
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

/** Starts the reaper for strace `tracer`; `traceFd` is the trace fifo's read end. */
export function startReaper(tracer: number, traceFd: number, cwd: string): Reaper {
  const reaper = spawn(
    findProgram('bash', cwd) ?? '/bin/bash',
    ['-c', REAPER_SCRIPT, 'prefork-check-reaper', String(tracer)],
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
