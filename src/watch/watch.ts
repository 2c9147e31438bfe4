import { PreforkCheckError } from '../errors.js';
import { markerDetector } from '../fork-point/marker.js';
import { startTrace } from '../session/start-trace.js';
import { preflightTrace } from '../session/preflight.js';
import { RunGuard, type StopReason } from '../session/run-guard.js';
import { TraceReader } from '../session/trace-reader.js';
import { DEFAULTS, tracerFor, timeoutMsOf, type CheckOptions } from '../options/options.js';
import { AppOutput } from '../launch/app-output.js';
import { FdTable } from '../model/fd-table.js';
import type { FdKind, OpenFile } from '../model/open-file.js';
import { buildReport } from '../check/build-report.js';
import type { FdRecord, Report } from '../report/types.js';
import { drive, get, listening } from './drive.js';
import { countFds, total } from './sample.js';

/** What a watch shares with a check: the same meaning, documented on CheckOptions. */
type SharedOptions = Pick<CheckOptions, 'name' | 'cwd' | 'env' | 'strace' | 'tracer' | 'traceOut' | 'signal'>;

export interface WatchOptions extends SharedOptions {
  /** The server's command line. */
  command: string[];
  /** HTTP GET this URL once per step... */
  request?: string;
  /** ...or run this shell command once per step. */
  drive?: string;
  /** Steps (requests or driver runs). @default 100 */
  count?: number;
  /** First steps not counted: caches and pools fill up. @default a tenth of count, at most 10 */
  warmup?: number;
  /** fds each process may gain per step after warm-up. @default 0 */
  maxGrowth?: number;
  /** Ready when the server prints this... */
  readyMarker?: string;
  /** ...or when this port accepts connections. @default the request URL's port */
  readyPort?: number;
  /** Seconds for the whole watch, readiness included (a check's timeout is to its fork point). @default 120 */
  timeout?: number;
  /** Where the server's own output goes (see CheckOptions.appOutput; it is read for no marker). @default 'inherit' */
  appOutput?: Exclude<CheckOptions['appOutput'], 'ignore'>;
}

/** One process's fd count after each step, by kind and in all. */
export interface WatchSeries {
  pid: number;
  program: string;
  totals: number[];
  byKind: Partial<Record<FdKind, number[]>>;
  /** fds gained per step after warm-up. */
  growthPerStep: number;
}

export interface WatchData {
  /** Steps that ran to the end (fewer than asked for when the watch stopped early). */
  steps: number;
  warmup: number;
  maxGrowth: number;
  driver: string;
  processes: WatchSeries[];
}

export type WatchReport = Report & { watch: WatchData };

function invalid(message: string): never {
  throw new PreforkCheckError('INVALID_OPTION', message);
}

/** The longest one --drive step may take. */
const DRIVE_STEP_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type StopCode = 'APP_EXITED_BEFORE_FORK_POINT' | StopReason['code'] | 'APP_FAILED';

/** The watch ended before its last step; the report says why. */
class WatchStopped extends Error {
  constructor(
    readonly code: StopCode,
    message: string,
  ) {
    super(message);
  }
}

function validate(options: WatchOptions) {
  if (options.command.length === 0)
    invalid(
      'Nothing to watch: give the server command after `--` (e.g. `prefork-check watch --request http://127.0.0.1:8000/ -- gunicorn app:app`).',
    );
  if ((options.request === undefined) === (options.drive === undefined))
    invalid('Give one load driver: `--request <url>` or `--drive <command>`.');
  let readyPort = options.readyPort;
  if (options.request !== undefined) {
    let url: URL;
    try {
      url = new URL(options.request);
    } catch {
      invalid(`Expected \`--request\` to be an http URL, got \`${options.request}\`.`);
    }
    if (url.protocol !== 'http:') invalid(`Expected \`--request\` to be an http:// URL, got \`${options.request}\`.`);
    readyPort ??= Number(url.port || 80);
  }
  if (readyPort !== undefined && !(Number.isInteger(readyPort) && readyPort >= 1 && readyPort <= 65535)) {
    invalid(`Expected the ready port to be a whole number from 1 to 65535, got \`${readyPort}\`.`);
  }
  const timeout = timeoutMsOf(options.timeout ?? 120, '--timeout');
  if (readyPort === undefined && options.readyMarker === undefined)
    invalid('Say when the server is ready: `--ready-marker <text>` or `--ready-port <port>`.');
  const count = options.count ?? 100;
  if (!Number.isInteger(count) || count < 1)
    invalid(`Expected \`--requests\` to be a whole number of at least 1, got \`${count}\`.`);
  const warmup = options.warmup ?? Math.min(10, Math.floor(count / 10));
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= count)
    invalid(`Expected \`--warmup\` to be a whole number below the number of steps (${count}), got \`${warmup}\`.`);
  const maxGrowth = options.maxGrowth ?? 0;
  if (!Number.isFinite(maxGrowth) || maxGrowth < 0)
    invalid(`Expected \`--max-growth\` to be a number of at least 0, got \`${maxGrowth}\`.`);
  const cwd = options.cwd ?? process.cwd();
  const { tracer, path } = preflightTrace({
    ...options,
    cwd,
    strace: options.strace ?? DEFAULTS.strace,
    tracer: tracerFor(options),
  });
  return { count, warmup, maxGrowth, cwd, strace: path, tracer, readyPort, timeoutMs: timeout };
}

/**
 * Runs a server under the full trace, drives load at it step by step, and
 * samples every process's fd table after each step: fds that keep growing
 * per request are a leak, named by the line that makes them.
 */
export async function watch(options: WatchOptions): Promise<WatchReport> {
  const startedAt = Date.now();
  const { count, warmup, maxGrowth, cwd, strace, tracer, readyPort, timeoutMs } = validate(options);
  const marker = options.readyMarker;
  // fds made after warm-up: the ones a leak per step leaves behind.
  const fresh = new WeakSet<OpenFile>();
  let collecting = false;
  const output = new AppOutput(marker, options.appOutput);
  const traced = await startTrace({
    strace,
    tracer,
    forkPoint: marker !== undefined ? { mode: 'marker', marker } : { mode: 'exit' },
    command: options.command,
    cwd,
    env: options.env ?? {},
    inheritFds: false,
    attribution: true,
    nativeStacks: false,
    listeners: [{ created: (_task, _syscall, files) => collecting && files.forEach((file) => fresh.add(file)) }],
    output,
  });
  const { run, model, describe } = traced;
  const stopRun = () => run.stop(model.tasks.keys());
  const driver = options.request !== undefined ? `GET ${options.request}` : options.drive!;
  /** Steps that ran to the end and were sampled: fewer than asked when the watch stopped early. */
  let stepsRun = 0;
  let ready = false;
  const guard = new RunGuard(
    timeoutMs - (Date.now() - startedAt),
    options.signal,
    {
      timedOut: () =>
        ready
          ? `The load did not finish within ${timeoutMs / 1000} s (step ${stepsRun + 1} of ${count}).`
          : `The server was not ready within ${timeoutMs / 1000} s.`,
      interrupted: 'The watch was interrupted; the server was stopped.',
      parentGone: 'The process that ran this watch went away; the server was stopped.',
    },
    () => void stopRun(),
  );
  const detector = marker !== undefined ? markerDetector(marker, output) : undefined;
  let sawMarker = false;
  let ended = false;
  let reader: TraceReader;
  try {
    reader = TraceReader.open(traced, options.traceOut, () => false);
  } catch (error) {
    guard.dispose();
    await stopRun();
    throw error;
  }
  const consumer = (async () => {
    await reader.until(async (step) => {
      if (step === 'quiet') return undefined; // nothing to look at here
      if (detector && !sawMarker && (await detector.observe(step.event, step.task, model))) sawMarker = true;
      // A daemonizing server goes on in its child; any other end of the started process ends the watch.
      return step.rootEnd && !step.rootEnd.handingOver ? true : undefined;
    });
    ended = true;
  })();
  /** Ends the watch early when the guard stopped it. */
  const checkGuard = () => {
    if (guard.reason) throw new WatchStopped(guard.reason.code, guard.reason.message);
  };

  const series = new Map<number, { program: string; samples: Array<Partial<Record<FdKind, number>> | undefined> }>();
  let error: { code: StopCode; message: string } | undefined;
  let records: FdRecord[] = [];
  try {
    // Ready: the marker in the trace, or the port answering.
    while (!(marker !== undefined ? sawMarker : await listening(readyPort!))) {
      checkGuard();
      if (ended && !reader.sawEvents) throw await run.whyNotTraced();
      if (ended) throw new WatchStopped('APP_EXITED_BEFORE_FORK_POINT', 'The server exited before it was ready.');
      await sleep(25);
    }
    if (readyPort !== undefined) while (!(await listening(readyPort)) && !guard.stopped) await sleep(25);
    ready = true;
    for (let step = 1; step <= count; step++) {
      checkGuard();
      try {
        if (options.request !== undefined) await get(options.request, 10_000, options.signal);
        else {
          // A step that fails put no load on the server: its fds say nothing.
          const status = await drive(options.drive!, DRIVE_STEP_MS, options.signal);
          checkGuard();
          if (status !== 0)
            throw new Error(
              status === 'timeout'
                ? `\`${options.drive}\` ran over ${DRIVE_STEP_MS / 1000} s and was killed with its children`
                : `\`${options.drive}\` exited with status ${status}`,
            );
        }
      } catch (cause) {
        if (cause instanceof WatchStopped) throw cause;
        checkGuard();
        throw new WatchStopped('APP_FAILED', `Step ${step} failed: ${(cause as Error).message}.`);
      }
      // Let the trace catch up before the step's fds are judged, then look at every process.
      await sleep(5);
      if (step === warmup) {
        await sleep(100);
        collecting = true;
      }
      for (const task of model.liveProcesses()) {
        const entry = series.get(task.proc.pid) ?? {
          program: task.proc.program,
          samples: Array<undefined>(step - 1).fill(undefined),
        };
        entry.samples.push(countFds(task.proc.pid));
        series.set(task.proc.pid, entry);
      }
      stepsRun = step;
    }
    await sleep(300);
    checkGuard();
    for (const task of model.liveProcesses()) {
      const kept = new FdTable();
      for (const [fd, slot] of task.table.slots) if (fresh.has(slot.file)) kept.set(fd, slot.file, slot.cloexec);
      records.push(...describe(kept, task.proc.pid));
    }
  } catch (stopped) {
    if (!(stopped instanceof WatchStopped)) throw stopped;
    error = { code: stopped.code, message: stopped.message };
    records = [];
  } finally {
    guard.dispose();
    await stopRun();
    await consumer.catch(() => undefined);
    await reader.commit();
  }

  const processes: WatchSeries[] = [...series].map(([pid, { program, samples }]) => {
    const totals = samples.map((sample) => (sample ? total(sample) : 0));
    const byKind: Partial<Record<FdKind, number[]>> = {};
    for (const kind of new Set(samples.flatMap((sample) => Object.keys(sample ?? {}))))
      byKind[kind as FdKind] = samples.map((sample) => sample?.[kind as FdKind] ?? 0);
    const base = totals[Math.max(0, warmup - 1)] ?? 0;
    const last = totals.at(-1) ?? 0;
    const steps = totals.length - Math.max(warmup, 1);
    return { pid, program, totals, byKind, growthPerStep: steps > 0 ? (last - base) / steps : 0 };
  });
  const growing = processes.some((process) => process.growthPerStep > maxGrowth);
  const report = buildReport({
    name: options.name ?? options.command.join(' '),
    command: options.command,
    forkPoint: {
      mode: 'watch',
      reached: !error,
      description: `${stepsRun === count ? count : `${stepsRun} of ${count}`} steps of ${driver}, ${warmup} of them warm-up`,
      notes: [],
    },
    table: records,
    allow: [],
    tracer,
    projectRoot: cwd,
    startedAt,
    ...(error ? { error } : {}),
    // The records are every fresh fd of every process: shown, but only growth fails the watch.
    ...(growing ? {} : { alsoExcuse: () => ({ type: 'watch' as const, label: String(maxGrowth) }) }),
  });
  return { ...report, watch: { steps: stepsRun, warmup, maxGrowth, driver, processes } };
}
