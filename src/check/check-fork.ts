import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PreforkCheckError, type ErrorCode } from '../errors.js';
import type { ForkPointDetector, ForkPointHit } from '../fork-point/detector.js';
import { describeProcess } from '../fork-point/describe-process.js';
import { exitDetector } from '../fork-point/exit.js';
import { firstForkDetector } from '../fork-point/first-fork.js';
import { markerDetector } from '../fork-point/marker.js';
import { isShell } from '../fork-point/program-kind.js';
import { phase } from '../phases.js';
import { AppOutput } from '../launch/app-output.js';
import { startTrace } from '../session/start-trace.js';
import { tracesCloses } from '../session/strace-command.js';
import { preflightTrace } from '../session/preflight.js';
import { RunGuard, type StopReason } from '../session/run-guard.js';
import { TraceReader, type TraceStep } from '../session/trace-reader.js';
import type { FdTable } from '../model/fd-table.js';
import { reconcileWithKernel } from '../model/kernel-table.js';
import { ProcessModel } from '../model/process-model.js';
import type { Task } from '../model/task.js';
import { followsWorker, type ForkPointSpec } from '../fork-point/spec.js';
import { resolveOptions, type CheckOptions, type PreflightedOptions } from '../options/options.js';
import { buildReport } from './build-report.js';
import { checkBlindSpots } from './blind-spots.js';
import type { ClosedInWorker, FdRecord, ForkPointReport, Report } from '../report/types.js';
import type { OpenFile } from '../model/open-file.js';
import type { ProcessEvent } from '../trace/events.js';
import { WorkerReady, type WorkerOutcome } from '../fork-point/worker-ready.js';
import { LIVE_PROC } from '../proc/proc-view.js';
import { servesAlone } from '../fork-point/serves-alone.js';
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
export function preflightCheck(options: CheckOptions): PreflightedOptions {
  const resolved = resolveOptions(options);
  const { tracer, path } = preflightTrace(resolved);
  if (options.entry !== undefined) preflightEntry(options.entry, resolved.cwd);
  return { ...resolved, strace: path, tracer };
}

function preflightEntry(given: string, cwd: string): void {
  const entry = resolve(cwd, given);
  if (given.trim() === '' || !existsSync(entry))
    throw new PreforkCheckError('ENTRY_NOT_FOUND', `The entry file ${given} does not exist (looked in ${cwd}).`);
  if (!statSync(entry).isFile())
    throw new PreforkCheckError('ENTRY_NOT_FOUND', `The entry ${given} is not a file: give the Python file to run.`);
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

/** What the app's main process held when the run was stopped early. */
interface Snapshot {
  task?: Task;
  table?: FdTable;
}

/** The started process ended before the fork point without handing over to a daemon's child. */
const ROOT_ENDED = 'root ended';

/**
 * Runs the app under its tracer to its fork point and reports every fd its
 * process holds there. Resolves with a report (status pass, fail, or error
 * when the app died or timed out first); rejects with a PreforkCheckError
 * when the check cannot run at all (bad options, no tracer, no ptrace).
 */
export async function checkFork(options: CheckOptions): Promise<Report> {
  const startedAt = Date.now();
  return checkPreflighted(preflightCheck(options), startedAt);
}

/** checkFork for options preflightCheck has resolved (a run preflights all its checks first). */
export async function checkPreflighted(resolved: PreflightedOptions, startedAt = Date.now()): Promise<Report> {
  const spec = resolved.forkPoint;
  phase('preflight');

  const reportOf = (
    table: FdRecord[],
    forkPoint: ForkPointReport,
    error?: { code: ErrorCode; message: string },
    closedInWorker?: Map<number, ClosedInWorker>,
  ) =>
    buildReport({
      ...resolved,
      forkPoint,
      table,
      projectRoot: resolved.cwd,
      startedAt,
      workerFollowed: followsWorker(spec),
      ...(closedInWorker ? { closedInWorker } : {}),
      ...(error ? { error } : {}),
    });

  const noApp = resolved.preset?.preset.noApp;
  // Only the server's own fork point waits for a worker; a marker or the exit may come all the same.
  const noWorkers = spec.mode === 'first-fork' ? resolved.preset?.preset.noWorkers : undefined;
  /** Set once the run is guarded; heard before that, it is looked for then. */
  let endForNoWorkers: (() => void) | undefined;
  const output = new AppOutput(
    spec.mode === 'marker' ? spec.marker : undefined,
    resolved.appOutput,
    [...(noApp ? [noApp.words] : []), ...(noWorkers ? [noWorkers.says] : [])],
    (words) => words === noWorkers?.says && endForNoWorkers?.(),
  );
  // The trace session, once started, tells the detector which Python stack forked a child.
  const session: { forkStack?: (child: Task) => StackFrame[] | undefined } = {};
  const detector = detectorFor(spec, output, (child) => session.forkStack?.(child));
  const kernelTables = resolved.tracer === 'native';
  const traced = await startTrace({ ...resolved, kernelTables, listeners: [detector.listener ?? {}], output });
  /**
   * The main process's table when the run is stopped early. Without closes in the trace the model
   * may still hold fds closed since the last kernel table: the live process's own table says which.
   */
  const tableWhenStopped = (task: Task): FdTable => {
    const table = task.table.copy();
    if (!tracesCloses({ ...resolved, kernelTables }) && LIVE_PROC.taskState(task.proc.pid) !== undefined)
      reconcileWithKernel(table, LIVE_PROC.fds(task.proc.pid));
    return table;
  };
  session.forkStack = traced.forkStack;
  const { run, model, describe, closedBy } = traced;
  const livePids = () => [...model.tasks.keys()];

  /** The started process exited 0 and left processes running: followed, as a daemon's child. */
  let daemonized = false;
  let snapshot: Snapshot = {};
  const guard = new RunGuard(
    resolved.timeoutMs,
    resolved.signal,
    {
      timedOut: () => {
        const task = mainTask(model);
        const daemon =
          daemonized && task
            ? ` The started process exited with status 0, leaving ${describeProcess(task.proc)} running; its table is shown.`
            : '';
        const instead =
          detector.notReached?.() ?? servesAlone(LIVE_PROC, model, task) ?? 'Raise --timeout if it is just slow.';
        return `The app did not reach the fork point (${forkPointWords(spec)}) within ${seconds(resolved.timeoutMs)} s; it was stopped. ${instead}${daemon}`;
      },
      interrupted: 'The check was interrupted; the app was stopped.',
      parentGone: 'The process that ran this check went away; the app was stopped.',
    },
    () => {
      const task = mainTask(model);
      snapshot = { task, table: task && tableWhenStopped(task) };
      void run.stop(livePids());
    },
  );

  if (noWorkers) {
    endForNoWorkers = () => guard.end('NO_FORK_POINT', noWorkers.advice);
    if (output.said(noWorkers.says)) endForNoWorkers();
  }

  const stoppedReport = (reason: StopReason) => {
    const { task, table } = snapshot;
    const records = table && task ? describe(table, task.proc.pid) : [];
    return reportOf(records, forkPointReport(spec, detector, false, 'not reached', task), reason);
  };

  /** The event the fork point was decided at (undefined when a quiet look-up decided it). */
  let last: { event: ProcessEvent; task: Task } | undefined;
  let rootExit: { table: FdTable; code: number } | undefined;
  let rootEnd: { how: string; killed: boolean } | undefined;
  let reader: TraceReader | undefined;
  try {
    reader = TraceReader.open(traced, resolved.traceOut, () => guard.stopped);
    /** After an event no detector hit on: the started process's end, unless it hands over to a daemon's child. */
    const atRootEnd = (step: Exclude<TraceStep, 'quiet'>): ForkPointHit | typeof ROOT_ENDED | undefined => {
      if (!step.rootEnd) return undefined;
      const { event } = step;
      const { handingOver } = step.rootEnd;
      const atEnd = detector.rootEnded?.(model, handingOver);
      if (atEnd) return atEnd;
      rootEnd =
        event.type === 'exit'
          ? { how: `exited with status ${event.code}`, killed: false }
          : { how: `was killed by ${event.type === 'killed' ? event.signal : 'a signal'}`, killed: true };
      if (!handingOver) return ROOT_ENDED;
      daemonized = true;
      return undefined;
    };
    // Synchronous unless the detector must wait (for the marker's bytes): thousands of lines go through here.
    const found = await reader.until((step) => {
      if (step === 'quiet') {
        last = undefined;
        // The trace is quiet: the detector may look at the processes themselves.
        return detector.quiet?.(model);
      }
      const { event, task } = step;
      if (event.type === 'syscall' && event.name === 'exit_group' && task === model.root) {
        rootExit = { table: task.table.copy(), code: Number.parseInt(event.args, 10) };
      }
      last = { event, task };
      const seen = detector.observe(event, task, model);
      if (seen instanceof Promise) return seen.then((hit) => hit ?? atRootEnd(step));
      return seen ?? atRootEnd(step);
    });
    const hit = found === ROOT_ENDED ? undefined : found;
    if (hit) phase('fork-point');

    if (hit && !guard.stopped) {
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
        guard.clearDeadline();
        const ready = new WorkerReady(worker, hit.table, LIVE_PROC);
        const outcome = await followWorker(reader, ready, last, startedAt, resolved.timeoutMs);
        if (guard.reason) return stoppedReport(guard.reason);
        forkPoint.worker = { pid: worker.proc.pid, ...outcome };
        const closed = outcome.ready ? closedInWorker(hit.table, worker, closedBy) : undefined;
        if (table.some(hasUnknownAddress)) table = describe(seen.table, hit.task.proc.pid);
        report = reportOf(table, forkPoint, undefined, closed);
      } else if (table.some(hasUnknownAddress)) {
        // Gone from /proc already (closed right after the fork point): what the trace says of it next completes it.
        await readOn(reader);
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
    if (guard.reason) return stoppedReport(guard.reason);
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
    if (!reader.sawEvents) throw await run.whyNotTraced();
    throw new PreforkCheckError(
      'STRACE_FAILED',
      `The trace ended before the started process did: ${resolved.tracer === 'native' ? "prefork-check's own tracer" : 'strace'} stopped early (what it said, if anything, went to the app's stderr).`,
    );
  } finally {
    guard.dispose();
    await run.stop(livePids());
    phase('stopped');
    // The trace the user asked for (--trace-out) could not be written: that fails the check, whatever it found.
    await reader?.commit();
  }
}

/** A socket whose target still has a `?` where the kernel had an address. */
function hasUnknownAddress(record: FdRecord): boolean {
  return record.kind === 'socket' && /(^| )\?( |$)|:\?( |$)/.test(record.target);
}

/** Seconds as messages show them: 30, 0.5. */
function seconds(ms: number): number {
  return Number((ms / 1000).toPrecision(6));
}

/**
 * Reads the trace on from the fork point until the worker is ready to serve, ends, or the
 * deadline (the fork point's own timeout) passes: whichever comes first.
 */
async function followWorker(
  reader: TraceReader,
  ready: WorkerReady,
  decidedAt: { event: ProcessEvent; task: Task } | undefined,
  startedAt: number,
  timeoutMs: number,
): Promise<WorkerOutcome> {
  const deadline = startedAt + timeoutMs;
  // The worker may be at its ready point already: the event that made it a worker was its accept,
  // or a quiet look-up found it waiting (then every line before is applied).
  const already = decidedAt ? ready.observe(decidedAt.event, decidedAt.task) : ready.quiet();
  if (already) return already;
  const outcome = await reader.until((step): WorkerOutcome | undefined => {
    if (Date.now() > deadline)
      return { ready: false, how: `it was not ready to serve within the check's timeout (${seconds(timeoutMs)} s)` };
    return step === 'quiet' ? ready.quiet() : ready.observe(step.event, step.task);
  });
  return outcome ?? { ready: false, how: 'the trace ended before it was ready to serve' };
}

/**
 * The fork point's fds that the worker no longer holds in any slot: closed, or replaced with dup2,
 * before its ready point. One it keeps under another number (a dup) still counts. Only leaks look
 * here: a file that took a slot of stdio, and /dev/null put over it in the worker, is credited too.
 */
function closedInWorker(
  forkTable: FdTable,
  worker: Task,
  closedBy: (task: Task, file: OpenFile) => Omit<ClosedInWorker, 'pid'> | undefined,
): Map<number, ClosedInWorker> {
  const held = new Set([...worker.table.slots.values()].map((slot) => slot.file));
  const closed = new Map<number, ClosedInWorker>();
  for (const [fd, slot] of forkTable.slots) {
    if (held.has(slot.file)) continue;
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
async function readOn(reader: TraceReader): Promise<void> {
  const deadline = Date.now() + READ_ON_MS;
  await reader.until((step) => (step === 'quiet' || Date.now() > deadline ? true : undefined));
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
