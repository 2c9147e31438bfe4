import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PreforkCheckError, type ErrorCode } from '../errors.js';
import type { ForkPointDetector, ForkPointHit } from '../fork-point/detector.js';
import { describeProcess } from '../fork-point/describe-process.js';
import { exitDetector } from '../fork-point/exit.js';
import { firstForkDetector } from '../fork-point/first-fork.js';
import { markerDetector } from '../fork-point/marker.js';
import { isShell } from '../fork-point/program-kind.js';
import { findProgram } from '../launch/find-program.js';
import { findStrace } from '../launch/run-traced.js';
import { phase } from '../phases.js';
import { AtomicFile, outputTarget } from '../files/write-atomic.js';
import { AppOutput } from '../launch/app-output.js';
import { startTrace } from '../session/start-trace.js';
import type { FdTable } from '../model/fd-table.js';
import { ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import { followsWorker, type ForkPointSpec } from '../fork-point/spec.js';
import { resolveOptions, type CheckOptions, type ResolvedOptions } from './options.js';
import { buildReport } from './build-report.js';
import { checkBlindSpots } from './blind-spots.js';
import type { ClosedInWorker, FdRecord, ForkPointReport, Report } from '../report/types.js';
import type { OpenFile } from '../model/open-file.js';
import type { ProcessEvent } from '../trace/events.js';
import { WorkerReady, type WorkerOutcome } from '../fork-point/worker-ready.js';
import { LIVE_PROC } from '../proc/proc-view.js';
import type { StackFrame } from '../attribution/describe-origin.js';
import { quoted } from '../json/shape.js';

function detectorFor(
  spec: ForkPointSpec,
  output: AppOutput,
  forkStack: (child: Task) => StackFrame[] | undefined,
): ForkPointDetector {
  if (spec.mode === 'marker') return markerDetector(spec.marker, output);
  if (spec.mode === 'first-fork') {
    const { spawns = false, serverFork } = spec;
    return firstForkDetector({
      spawns,
      forkStack,
      proc: LIVE_PROC,
      ...(serverFork !== undefined ? { serverFork } : {}),
    });
  }
  return exitDetector();
}

/** Checks what can be checked before anything runs: the options, the entry file, the command, strace (its path in `strace`). */
export function preflightCheck(options: CheckOptions): ResolvedOptions {
  const resolved = resolveOptions(options);
  preflight(options, resolved);
  return { ...resolved, strace: findStrace(resolved.strace, resolved.cwd) };
}

function preflight(options: CheckOptions, resolved: ResolvedOptions): void {
  if (options.traceOut !== undefined) outputTarget(options.traceOut, 'the trace');
  if (!isDirectory(resolved.cwd))
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `The working directory ${resolved.cwd} does not exist or is not a directory.`,
    );
  if (options.entry !== undefined) {
    const entry = resolve(resolved.cwd, options.entry);
    if (options.entry.trim() === '' || !existsSync(entry))
      throw new PreforkCheckError(
        'ENTRY_NOT_FOUND',
        `The entry file ${options.entry} does not exist (looked in ${resolved.cwd}).`,
      );
    if (!statSync(entry).isFile())
      throw new PreforkCheckError(
        'ENTRY_NOT_FOUND',
        `The entry ${options.entry} is not a file: give the Python file to run.`,
      );
  }
  const program = resolved.command[0]!;
  if (findProgram(program, resolved.cwd) === undefined) {
    throw new PreforkCheckError(
      'COMMAND_NOT_FOUND',
      program.includes('/')
        ? `The command ${program} does not exist or is not executable.`
        : `The command \`${program}\` was not found on PATH.`,
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The process a partial report is about: the started one, unless it is a shell, then its newest non-shell descendant. */
function mainTask(model: ProcessModel): Task | undefined {
  const root = model.root;
  if (root && !root.proc.exited && !isShell(root.proc.program)) return root;
  return (
    model
      .liveProcesses()
      .filter((task) => !isShell(task.proc.program))
      .at(-1) ?? root
  );
}

interface Stop {
  code: ErrorCode;
  message: string;
  task?: Task;
  table?: FdTable;
}

/**
 * Runs the app under strace to its fork point and reports every fd its
 * process holds there. Resolves with a report (status pass, fail, or error
 * when the app died or timed out first); rejects with a PreforkCheckError
 * when the check cannot run at all (bad options, no strace, no ptrace).
 */
export async function checkFork(options: CheckOptions): Promise<Report> {
  const startedAt = Date.now();
  const resolved = preflightCheck(options);
  const spec = resolved.forkPoint;
  phase('preflight');

  const reportOf = (
    table: FdRecord[],
    forkPoint: ForkPointReport,
    error?: { code: ErrorCode; message: string },
    closedInWorker?: Map<number, ClosedInWorker>,
  ) => {
    const input = {
      ...(closedInWorker ? { closedInWorker } : {}),
      name: resolved.name,
      command: resolved.command,
      forkPoint,
      table,
      allow: resolved.allow,
      projectRoot: resolved.cwd,
      startedAt,
      ...(resolved.preset ? { preset: resolved.preset } : {}),
    };
    return buildReport({ ...input, ...(error ? { error } : {}) });
  };

  const noApp = resolved.preset?.preset.noApp;
  const output = new AppOutput(
    spec.mode === 'marker' ? spec.marker : undefined,
    resolved.appOutput,
    noApp ? [noApp.words] : [],
  );
  // The trace session, once started, tells the detector which Python stack forked a child.
  const session: { forkStack?: (child: Task) => StackFrame[] | undefined } = {};
  const detector = detectorFor(spec, output, (child) => session.forkStack?.(child));
  const started = await startTrace({
    strace: resolved.strace,
    forkPoint: spec,
    command: resolved.command,
    cwd: resolved.cwd,
    env: resolved.env,
    inheritFds: resolved.inheritFds,
    attribution: resolved.attribution,
    nativeStacks: resolved.nativeStacks,
    listeners: [detector.listener ?? {}],
    output,
  });
  session.forkStack = started.forkStack;
  const { run, model, apply, describe, closedBy } = started;
  const livePids = () => [...model.tasks.keys()];

  let stop: Stop | undefined;
  const interrupt = (code: ErrorCode, message: string) => {
    if (stop) return;
    const task = mainTask(model);
    stop = { code, message, task, table: task?.table.copy() };
    void run.stop(livePids());
  };
  /** The started process exited 0 and left processes running: followed, as a daemon's child. */
  let daemonized = false;
  const timer = setTimeout(() => {
    const { code, message } = stopMessage('TIMEOUT', spec, resolved.timeoutMs);
    const task = mainTask(model);
    const daemon =
      daemonized && task
        ? ` The started process exited with status 0, leaving ${describeProcess(task.proc)} running; its table is shown.`
        : '';
    interrupt(code, message + daemon);
  }, resolved.timeoutMs);
  const onAbort = () => {
    const { code, message } = stopMessage('INTERRUPTED', spec, resolved.timeoutMs);
    interrupt(code, message);
  };
  resolved.signal?.addEventListener('abort', onAbort);
  if (resolved.signal?.aborted) onAbort();
  // Run in a forked worker (Vitest's forks pool): when the process that forked it goes (kill -9,
  // Ctrl-C), the worker may live on; the app must not, nor wait for its timeout.
  const onParentGone = () =>
    interrupt('INTERRUPTED', 'The process that ran this check went away; the app was stopped.');
  if (process.connected) process.once('disconnect', onParentGone);

  const stoppedReport = (stopped: Stop) => {
    const table = stopped.table && stopped.task ? describe(stopped.table, stopped.task.proc.pid) : [];
    return reportOf(table, forkPointReport(spec, detector, false, 'not reached', stopped.task), {
      code: stopped.code,
      message: stopped.message,
    });
  };

  let hit: ForkPointHit | undefined;
  /** The event the fork point was decided at (undefined when a quiet look-up decided it). */
  let last: { event: ProcessEvent; task: Task } | undefined;
  let rootExit: { table: FdTable; code: number } | undefined;
  let rootEnd: { how: string; killed: boolean } | undefined;
  let sawEvents = false;
  let traceCopy: AtomicFile | undefined;
  /** A trace line, copied to --trace-out and applied to the model. */
  const take = (line: string) => {
    traceCopy?.write(line + '\n');
    return apply(line);
  };
  try {
    if (resolved.traceOut !== undefined) traceCopy = AtomicFile.open(resolved.traceOut, 'the trace');
    // By hand, not for-await: after the fork point the trace may be read on (readOn).
    const lines = run.lines[Symbol.asyncIterator]();
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      const line = next.value;
      if (stop) break;
      if (line === '') {
        last = undefined;
        // The trace is quiet: the detector may look at the processes themselves.
        hit = detector.quiet?.(model);
        if (hit) {
          phase('fork-point');
          break;
        }
        continue;
      }
      const applied = take(line);
      if (applied === undefined) continue;
      if (!sawEvents) phase('traced');
      sawEvents = true;
      const { event, task, record } = applied;
      if (record) continue;
      if (event.type === 'syscall' && event.name === 'exit_group' && task === model.root) {
        rootExit = { table: task.table.copy(), code: Number.parseInt(event.args, 10) };
      }
      last = { event, task };
      const seen = detector.observe(event, task, model);
      hit = seen instanceof Promise ? await seen : seen;
      if (hit) {
        phase('fork-point');
        break;
      }
      if ((event.type === 'exit' || event.type === 'killed') && event.pid === model.root?.tid) {
        // A daemon's fork point is still to come, in the child it handed over to. Any other end is final.
        const handingOver = model.rootHandedOver(event);
        hit = detector.rootEnded?.(model, handingOver);
        if (hit) {
          phase('fork-point');
          break;
        }
        rootEnd =
          event.type === 'exit'
            ? { how: `exited with status ${event.code}`, killed: false }
            : { how: `was killed by ${event.signal}`, killed: true };
        if (!handingOver) break;
        daemonized = true;
      }
    }

    if (hit && !stop) {
      await resolved.onForkPoint?.({ pid: hit.task.proc.pid });
      // Described before the kill: sockets are completed from the live process's /proc.
      const seen = checkBlindSpots(hit.table, hit.task.proc.pid, LIVE_PROC);
      let table = describe(seen.table, hit.task.proc.pid);
      const forkPoint = forkPointReport(spec, detector, true, hit.description, hit.task, hit.childPid);
      forkPoint.notes.push(...seen.notes);
      if (seen.incomplete !== undefined) forkPoint.incomplete = seen.incomplete;
      if (spec.mode === 'exit' && hit.exitCode !== 0) {
        const message = `The app exited with status ${hit.exitCode}: it failed before or while exiting, so its fds are not a trustworthy answer.`;
        return reportOf(table, forkPoint, { code: 'APP_FAILED', message });
      }
      let report = reportOf(table, forkPoint);
      const worker = hit.childPid === undefined ? undefined : model.tasks.get(hit.childPid);
      if (worker && followsWorker(spec) && report.leaks.some((leak) => !leak.allowed)) {
        // What would count may be closed by the worker's own hook before it serves: follow it there.
        clearTimeout(timer);
        const ready = new WorkerReady(worker, hit.table, LIVE_PROC);
        const outcome = await followWorker(
          lines,
          take,
          ready,
          last,
          startedAt,
          resolved.timeoutMs,
          () => stop !== undefined,
        );
        if (stop) return stoppedReport(stop);
        forkPoint.worker = { pid: worker.proc.pid, ...outcome };
        const closed = outcome.ready ? closedInWorker(hit.table, worker, closedBy) : undefined;
        if (table.some(hasUnknownAddress)) table = describe(seen.table, hit.task.proc.pid);
        report = reportOf(table, forkPoint, undefined, closed);
      } else if (table.some(hasUnknownAddress)) {
        // Gone from /proc already (closed right after the fork point): what the trace says of it next completes it.
        await readOn(lines, take);
        table = describe(seen.table, hit.task.proc.pid);
        report = reportOf(table, forkPoint);
      }
      phase('described');
      // Said before the fork: its bytes have had the follow (or at least this turn) to arrive.
      await new Promise(setImmediate);
      if (noApp && output.said(noApp.words))
        return reportOf(table, forkPoint, { code: 'APP_FAILED', message: noApp.advice });
      return report;
    }
    if (stop) return stoppedReport(stop);
    if (rootEnd && model.root) {
      const table = describe(rootExit?.table ?? model.root.table, model.root.proc.pid);
      const who = describeProcess(model.root.proc);
      const held = table.some((record) => record.fd > 2)
        ? 'The fds listed are what it held when it ended.'
        : 'It held nothing beyond stdio when it ended.';
      const after = daemonized ? ', and so did the processes it left running' : '';
      const message = `The app (${who}) ${rootEnd.how} before the fork point (${forkPointWords(spec)})${after}. ${held}`;
      const code = rootEnd.killed ? 'APP_KILLED_BEFORE_FORK_POINT' : 'APP_EXITED_BEFORE_FORK_POINT';
      return reportOf(table, forkPointReport(spec, detector, false, 'not reached', model.root), { code, message });
    }
    if (!sawEvents) throw await run.whyNotTraced();
    throw new PreforkCheckError(
      'STRACE_FAILED',
      'The trace ended before the started process did (strace stopped early).',
    );
  } finally {
    clearTimeout(timer);
    resolved.signal?.removeEventListener('abort', onAbort);
    process.off('disconnect', onParentGone);
    await run.stop(livePids());
    phase('stopped');
    // The trace the user asked for (--trace-out) could not be written: that fails the check, whatever it found.
    await traceCopy?.commit();
  }
}

/** A socket whose target still has a `?` where the kernel had an address. */
function hasUnknownAddress(record: FdRecord): boolean {
  return record.kind === 'socket' && /(^| )\?( |$)|:\?( |$)/.test(record.target);
}

/**
 * Applies the trace on from the fork point until the worker is ready to serve, ends, or the
 * deadline (the fork point's own timeout) passes: whichever comes first.
 */
async function followWorker(
  lines: AsyncIterator<string>,
  apply: (line: string) => { event: ProcessEvent; task: Task } | undefined,
  ready: WorkerReady,
  decidedAt: { event: ProcessEvent; task: Task } | undefined,
  startedAt: number,
  timeoutMs: number,
  stopped: () => boolean,
): Promise<WorkerOutcome> {
  const deadline = startedAt + timeoutMs;
  // The worker may be at its ready point already: the event that made it a worker was its accept,
  // or a quiet look-up found it waiting (then every line before is applied).
  const already = decidedAt ? ready.observe(decidedAt.event, decidedAt.task) : ready.quiet();
  if (already) return already;
  const late = (): WorkerOutcome => ({
    ready: false,
    how: `it was not ready to serve within the check's timeout (${Number((timeoutMs / 1000).toPrecision(6))} s)`,
  });
  // The heartbeat ('' after each quiet spell) wakes this loop while the app is silent.
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    if (stopped()) break;
    if (Date.now() > deadline) return late();
    const outcome = next.value === '' ? ready.quiet() : observeLine(apply(next.value), ready);
    if (outcome) return outcome;
  }
  return { ready: false, how: 'the trace ended before it was ready to serve' };
}

function observeLine(
  applied: { event: ProcessEvent; task: Task } | undefined,
  ready: WorkerReady,
): WorkerOutcome | undefined {
  return applied && ready.observe(applied.event, applied.task);
}

/**
 * The fork point's fds (beyond stdio) that the worker no longer holds in any slot: closed, or
 * replaced with dup2, before its ready point. One it keeps under another number (a dup) still counts.
 */
function closedInWorker(
  forkTable: FdTable,
  worker: Task,
  closedBy: (task: Task, file: OpenFile) => Omit<ClosedInWorker, 'pid'> | undefined,
): Map<number, ClosedInWorker> {
  const held = new Set([...worker.table.slots.values()].map((slot) => slot.file));
  const closed = new Map<number, ClosedInWorker>();
  for (const [fd, slot] of forkTable.slots) {
    if (fd <= 2 || held.has(slot.file)) continue;
    const by = closedBy(worker, slot.file);
    closed.set(fd, { pid: worker.proc.pid, ...(by ?? { origin: null, stack: [] }) });
  }
  return closed;
}

const READ_ON_MS = 500;

/**
 * Applies the trace lines already on their way after the fork point, until the trace goes quiet
 * (at most READ_ON_MS): the descriptions in the fork point's table learn what the trace says of
 * them next. The table's fds themselves are the fork point's, whatever the lines do.
 */
async function readOn(lines: AsyncIterator<string>, apply: (line: string) => unknown): Promise<void> {
  const deadline = Date.now() + READ_ON_MS;
  for (let next = await lines.next(); !next.done && next.value !== ''; next = await lines.next()) {
    apply(next.value);
    if (Date.now() > deadline) return;
  }
}

/** Why a check stopped early, in words that say what to do. */
function stopMessage(
  code: 'TIMEOUT' | 'INTERRUPTED',
  spec: ForkPointSpec,
  timeoutMs: number,
): { code: ErrorCode; message: string } {
  if (code === 'INTERRUPTED') return { code, message: 'The check was interrupted; the app was stopped.' };
  return {
    code,
    message: `The app did not reach the fork point (${forkPointWords(spec)}) within ${Number((timeoutMs / 1000).toPrecision(6))} s; it was stopped. Raise --timeout if it is just slow.`,
  };
}

function forkPointWords(spec: ForkPointSpec): string {
  if (spec.mode === 'marker') return `marker ${quoted(spec.marker)}`;
  if (spec.mode === 'first-fork') return 'first worker fork';
  return 'exit';
}

function forkPointReport(
  spec: ForkPointSpec,
  detector: ForkPointDetector,
  reached: boolean,
  description: string,
  task: Task | undefined,
  workerPid?: number,
): ForkPointReport {
  return {
    mode: spec.mode,
    ...(spec.mode === 'marker' ? { marker: spec.marker } : {}),
    reached,
    description,
    ...(task ? { pid: task.proc.pid, program: task.proc.program } : {}),
    ...(workerPid !== undefined ? { workerPid } : {}),
    notes: detector.notes?.() ?? [],
  };
}
