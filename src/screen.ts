import type { ErrorCode } from './errors.js';
import { markerDetector } from './fork-point/marker.js';
import { readKernelFds } from './launch/own-fds.js';
import { runTraced } from './launch/run-traced.js';
import { straceArguments } from './launch/strace-command.js';
import { annotationFromLink } from './model/kernel-link.js';
import { initialTable } from './model/initial-table.js';
import { ProcessModel } from './model/process-model.js';
import type { ResolvedOptions } from './options.js';
import { describeTable } from './report/describe-table.js';
import type { FdRecord } from './report/types.js';
import { parseFdRef, type Annotation } from './trace/annotation.js';
import type { TraceEvent } from './trace/events.js';
import { TraceParser } from './trace/parser.js';

export type ScreenResult =
  /** At the marker the writer held nothing beyond stdio: that is the answer. */
  | { outcome: 'clean'; pid: number; program: string; description: string; table: FdRecord[] }
  /** Timed out or interrupted: the table is the kernel's at that moment. */
  | { outcome: 'stopped'; code: Extract<ErrorCode, 'TIMEOUT' | 'INTERRUPTED'>; pid?: number; program?: string; table: FdRecord[] }
  /** Something is open, or the app ended first: the full trace must say what, and where it came from. */
  | { outcome: 'deep' };

function stopProcess(pid: number, signal: 'SIGSTOP'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already: its /proc is empty, and the screen is inconclusive.
  }
}

const KERNEL_ONLY = { origin: null, stack: [], originNote: 'read from the kernel when the check stopped; the fast pass does not trace how fds are made' };

/**
 * The fast pass of a marker check. strace follows only process life and
 * writes — no fd syscall, no attribution — so the app runs at close to its
 * own speed. When the marker is written the writer is stopped with SIGSTOP
 * and its table read from /proc: stdio only means pass. Anything else goes
 * to the full trace, which names every fd and the line that made it.
 *
 * The table is the kernel's a moment after the marker write: an fd closed in
 * that moment is one the workers will not share either.
 */
export async function screenAtMarker(resolved: ResolvedOptions, strace: string, marker: string, ready: Promise<void>): Promise<ScreenResult> {
  const spec = resolved.forkPoint;
  const run = await runTraced({
    strace,
    ready,
    straceArgs: (output) => straceArguments(spec, { fdModel: false, attribution: false }, output, resolved.command),
    cwd: resolved.cwd,
    env: resolved.env,
    inheritFds: resolved.inheritFds,
  });
  const detector = markerDetector(marker);
  const model = new ProcessModel(() => initialTable(run.initialFds, run.passedDownFds), [detector.listener ?? {}]);
  const parser = new TraceParser();
  const started = new Map(run.initialFds.filter(({ fd }) => fd === 1 || fd === 2).map(({ fd, link }) => [fd, annotationFromLink(link)]));
  // Without the fd model a redirected fd 1 looks like stdout: check what the write went to.
  const toStartStream = (event: TraceEvent) => {
    if (event.type !== 'syscall') return false;
    const ref = parseFdRef(event.args);
    const stream = ref && started.get(ref.fd);
    return stream !== undefined && ref?.annotation !== undefined && sameTarget(stream, ref.annotation);
  };

  let stopped: { code: Extract<ErrorCode, 'TIMEOUT' | 'INTERRUPTED'>; pid?: number; program?: string; table: FdRecord[] } | undefined;
  const halt = (code: Extract<ErrorCode, 'TIMEOUT' | 'INTERRUPTED'>) => {
    if (stopped) return;
    const root = model.root && !model.root.proc.exited ? model.root.proc : undefined;
    if (root) stopProcess(root.pid, 'SIGSTOP');
    const table = root ? describeTable(initialTable(readKernelFds(root.pid), run.passedDownFds, 'unknown'), root.pid, () => KERNEL_ONLY) : [];
    stopped = { code, table, ...(root ? { pid: root.pid, program: root.program } : {}) };
    void run.stop(model.tasks.keys());
  };
  const timer = setTimeout(() => halt('TIMEOUT'), resolved.timeoutMs);
  const onAbort = () => halt('INTERRUPTED');
  resolved.signal?.addEventListener('abort', onAbort);
  if (resolved.signal?.aborted) onAbort();

  let result: ScreenResult = { outcome: 'deep' };
  try {
    for await (const line of run.lines) {
      if (stopped) break;
      const event = parser.parse(line);
      if (event === undefined) continue;
      const task = model.apply(event);
      if ((event.type === 'exit' || event.type === 'killed') && event.pid === model.root?.tid) break;
      const hit = toStartStream(event) ? detector.observe(event, task, model) : undefined;
      if (!hit) continue;
      const pid = hit.task.proc.pid;
      stopProcess(pid, 'SIGSTOP');
      const fds = readKernelFds(pid);
      if (fds.length > 0 && fds.every(({ fd }) => fd <= 2)) {
        await resolved.onForkPoint?.({ pid });
        const table = describeTable(initialTable(fds, run.passedDownFds), pid, () => ({ origin: null, stack: [] }));
        result = { outcome: 'clean', pid, program: hit.task.proc.program, description: hit.description, table };
      }
      break;
    }
  } finally {
    clearTimeout(timer);
    resolved.signal?.removeEventListener('abort', onAbort);
    await run.stop(model.tasks.keys());
  }
  return stopped ? { outcome: 'stopped', ...stopped } : result;
}

/** The same file or stream: a pipe or socket by inode, anything else by path. */
function sameTarget(a: Annotation, b: Annotation): boolean {
  if (a.type !== b.type) return false;
  if ((a.type === 'pipe' || a.type === 'socket') && (b.type === 'pipe' || b.type === 'socket')) return a.inode === b.inode;
  return a.type === 'path' && b.type === 'path' && a.path === b.path;
}
