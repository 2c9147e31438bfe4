import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_BASELINE } from '../baseline/baseline-file.js';
import { loadConfig, mergeCheck } from '../config/load-config.js';
import { PreforkCheckError, isPreforkCheckError } from '../errors.js';
import type { CheckOptions } from '../options/options.js';
import type { CheckConfig } from '../options/check-fields.js';
import { detectPreset } from '../presets/presets.js';
import { runResult } from '../report/verdict.js';
import type { RunResult } from '../report/types.js';
import { relayed } from '../launch/app-output.js';
import { formatConsole } from '../reporters/console.js';
import { terminalSafe } from '../reporters/printable.js';
import { writeGithub } from '../reporters/github.js';
import { writeFileReport } from '../reporters/file-reports.js';
import { assertWritable } from '../files/write-atomic.js';
import { mergeRunResults, readRunResult } from '../run/merge-reports.js';
import { keepOffTracedCpu } from '../launch/one-cpu.js';
import { runChecks, type RunPlan } from '../run/run-checks.js';
import { version } from '../version.js';
import { parseCli, type CliRequest } from './args.js';
import { HELP, MERGE_HELP, WATCH_HELP } from './help.js';
import { showStatus } from './status-line.js';
import { quoted } from '../json/shape.js';

const EXIT_ERROR = 2;
/** The signals that end a run the same way: the app's tree killed, reports written, exit 128 + n. */
const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGPIPE: 13, SIGTERM: 15 } as const;

/** The common conventions: NO_COLOR (set and not empty) turns colour off, FORCE_COLOR on (unless 0 or false), else a terminal's. */
export function useColor(env: NodeJS.ProcessEnv = process.env, terminal = process.stdout.isTTY === true): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return !['0', 'false'].includes(env.FORCE_COLOR);
  return terminal && env.TERM !== 'dumb';
}

/** A rule between the app's output and our report, on a line of its own (the app may end without a newline). */
function apartFromApp(human: NodeJS.WriteStream): string {
  if (!relayed.any) return '';
  return `${relayed.lineOpen.has(human) ? '\n' : ''}${'─'.repeat(24)} end of the app's output ${'─'.repeat(24)}\n`;
}

/** Inputs of a run that no report may be written over: what each file is, by its real path. */
function runInputs(plan: RunPlan): Array<[string, string]> {
  return [
    ...(plan.config ? [[plan.config.file, 'the config this run read'] as [string, string]] : []),
    ...(plan.baselineFile !== undefined ? [[plan.baselineFile, 'the baseline'] as [string, string]] : []),
    ...plan.checks.flatMap((check): Array<[string, string]> =>
      check.entry !== undefined ? [[resolve(check.cwd ?? process.cwd(), check.entry), 'an entry file']] : [],
    ),
  ];
}

/** A report written over an input (the config, the baseline, an entry file, a merged report) or another report would destroy it: refused up front. */
function assertReportsSpareInputs(reports: Array<string | undefined>, given: Array<[string, string]>): void {
  const real = (file: string) => (existsSync(file) ? realpathSync(file) : resolve(file));
  const inputs = new Map(given.map(([file, what]) => [real(file), what]));
  for (const report of reports) {
    if (report === undefined) continue;
    const target = real(report);
    const taken = inputs.get(target);
    if (taken !== undefined)
      throw new PreforkCheckError(
        'REPORT_WRITE_FAILED',
        `Cannot write the report ${report}: it is ${taken}. Give reports paths of their own.`,
      );
    inputs.set(target, 'another report');
  }
}

/** Command-line flags over a check's own settings; `--allow` adds to its rules; a fork point given replaces the check's. */
function withOverrides(check: CheckOptions, overrides: CheckOptions): CheckOptions {
  const forkPoint = overrides.forkMarker !== undefined || overrides.forkAtFirstFork !== undefined;
  const { forkMarker: _marker, forkAtFirstFork: _firstFork, ...rest } = check;
  return { ...(forkPoint ? rest : check), ...overrides, allow: [...(check.allow ?? []), ...(overrides.allow ?? [])] };
}

/**
 * The config's defaults for an app named on the command line. What was typed wins: a server
 * command whose preset sets the fork point (gunicorn, celery, ...) is not held to the config's
 * `forkMarker` or `forkAtFirstFork`, which are for the config's own apps.
 */
function typedAppDefaults(defaults: CheckConfig, request: CliRequest): CheckConfig {
  const preset = request.overrides.preset ?? defaults.preset;
  const serverForkPoint =
    preset === undefined
      ? request.app?.command !== undefined && detectPreset(request.app.command, request.overrides.cwd ?? defaults.cwd)
      : preset !== 'none';
  if (!serverForkPoint) return defaults;
  const { forkMarker: _marker, forkAtFirstFork: _firstFork, ...rest } = defaults;
  return rest;
}

/** The config's checks named with --check, in the config's order; a name it has not is an error listing those it has. */
function onlyNamed(checks: CheckOptions[], names: string[] | undefined): CheckOptions[] {
  if (names === undefined) return checks;
  const known = checks.map((check) => check.name ?? '');
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      `The config has no check named ${unknown.map((name) => JSON.stringify(name)).join(', ')}; its checks: ${known.map((name) => JSON.stringify(name)).join(', ') || 'none'}.`,
    );
  return checks.filter((check) => names.includes(check.name ?? ''));
}

/** The run the request and the project's config describe. */
function planRun(request: CliRequest, signal: AbortSignal): { plan: RunPlan; json?: string; junit?: string } {
  const cwd = process.cwd();
  const config = loadConfig(cwd, request.config);
  const fromConfig = request.app === undefined;
  const defaults = fromConfig ? config.defaults : typedAppDefaults(config.defaults, request);
  const checks = fromConfig ? onlyNamed(config.checks, request.only) : [mergeCheck(defaults, request.app!, cwd)];
  if (!fromConfig && request.only !== undefined)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      '`--check` picks checks of the config by name; an app named on the command line is the one check.',
    );
  if (checks.length === 0) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      'Nothing to check: give `--entry app.py` or a command after `--` (e.g. `-- gunicorn --preload app:app`), or list checks in prefork-check.config.json.',
    );
  }
  if (fromConfig && request.overrides.name !== undefined)
    throw new PreforkCheckError(
      'INVALID_OPTION',
      "`--name` names the app given on the command line (`--entry` or `--`); the config's checks have their own names.",
    );
  // A one-off check is named as typed, and its paths are the command line's, not the config's.
  if (!fromConfig)
    checks[0] = {
      ...checks[0],
      name: request.overrides.name ?? request.app!.entry ?? request.app!.command!.join(' '),
      ...(request.app!.entry ? { entry: request.app!.entry } : {}),
      cwd,
    };
  if (request.overrides.traceOut !== undefined && checks.length > 1) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      "`--trace-out` saves one trace: name one app (`--entry` or `--`), not the config's several checks.",
    );
  }
  const projectRoot = fromConfig ? config.root : cwd;
  const defaultBaseline = resolve(projectRoot, DEFAULT_BASELINE);
  const baselineFile =
    request.baseline !== undefined
      ? resolve(cwd, request.baseline)
      : (config.baseline ?? (existsSync(defaultBaseline) || request.updateBaseline ? defaultBaseline : undefined));
  const json = request.json ?? config.reporters.json;
  const junit = request.junit ?? config.reporters.junit;
  // A report on stdout: the app's own output goes to stderr with ours. Quiet: the verdict lines only.
  const appOutput = request.quiet
    ? { appOutput: 'ignore' as const }
    : reportOnStdout(json, junit)
      ? { appOutput: 'stderr' as const }
      : {};
  const plan: RunPlan = {
    checks: checks.map((check) => ({ ...withOverrides(check, request.overrides), ...appOutput })),
    projectRoot,
    updateBaseline: request.updateBaseline,
    strict: request.strict || (config.strict ?? false),
    signal,
    ...(baselineFile !== undefined ? { baselineFile } : {}),
    ...((request.concurrency ?? config.concurrency) !== undefined
      ? { concurrency: request.concurrency ?? config.concurrency }
      : {}),
    ...(request.shard ? { shard: request.shard } : {}),
    ...(fromConfig && !request.shard && !request.only ? { wholeConfig: true } : {}),
    ...(config.file !== undefined
      ? {
          config: {
            file: config.file,
            // For an app named on the command line: the config's settings it still takes.
            settings: fromConfig
              ? []
              : Object.keys(defaults)
                  .filter((key) => request.overrides[key as keyof CheckOptions] === undefined)
                  .map((key) => `${key}${config.defaultsAt[key] ? ` (${config.defaultsAt[key]})` : ''}`),
          },
        }
      : {}),
  };
  return { plan, ...(json !== undefined ? { json } : {}), ...(junit !== undefined ? { junit } : {}) };
}

/** The JSON reports `merge-reports` is given: files, or globs of them. */
async function reportFiles(patterns: string[]): Promise<string[]> {
  const { glob } = await import('tinyglobby');
  const files = (
    await Promise.all(patterns.map((pattern) => (existsSync(pattern) ? [pattern] : glob(pattern, { absolute: false }))))
  ).flat();
  if (files.length === 0) throw new PreforkCheckError('INVALID_REPORT', `No JSON reports match ${patterns.join(' ')}.`);
  return files;
}

/** The status line's words: what the one check waits for (or how many run), for how long, and the app last. */
function statusOf(plan: RunPlan, seconds: number): string {
  if (plan.checks.length !== 1) return `prefork-check: ${plan.checks.length} checks running · ${seconds} s`;
  const check = plan.checks[0]!;
  const waitsFor =
    check.forkMarker !== undefined
      ? `marker ${quoted(check.forkMarker)}`
      : check.forkAtFirstFork
        ? 'first worker fork'
        : 'fork point';
  return `prefork-check: waiting for the ${waitsFor} · ${seconds} s · ${check.name ?? ''}`;
}

/**
 * A report path of `-` is our stdout; so is /dev/stdout, which as a path would lead to the file
 * stdout is redirected to and replace it.
 */
const STDOUT_PATHS = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);
const toStdout = (path: string | undefined): boolean => path !== undefined && STDOUT_PATHS.has(path);

function reportOnStdout(json: string | undefined, junit: string | undefined): boolean {
  return toStdout(json) || toStdout(junit);
}

/** Where the words for people go: stdout, unless a report is written there. */
function humanStream(json: string | undefined, junit: string | undefined): NodeJS.WriteStream {
  return reportOnStdout(json, junit) ? process.stderr : process.stdout;
}

/** Report paths checked before the run: at most one is `-`, and every other one can be written. */
function assertReportPaths(paths: Array<string | undefined>): void {
  if (paths.filter(toStdout).length > 1) {
    throw new PreforkCheckError(
      'INVALID_OPTION',
      'Only one report can be written to stdout (`-`): give the other a file.',
    );
  }
  for (const file of paths) if (file !== undefined && !toStdout(file)) assertWritable(file);
}

async function writeReports(
  result: RunResult,
  request: CliRequest,
  json: string | undefined,
  junit: string | undefined,
): Promise<void> {
  const human = humanStream(json, junit);
  human.write(
    apartFromApp(human) +
      terminalSafe(
        formatConsole(result, {
          color: useColor(process.env, human.isTTY === true),
          quiet: request.quiet,
          verbose: request.verbose,
        }),
      ),
  );
  if (process.env.GITHUB_ACTIONS === 'true') await writeGithub(result, process.env, (text) => human.write(text));
  for (const [name, file] of [
    ['json', json],
    ['junit', junit],
  ] as const)
    if (file !== undefined) await writeFileReport(name, result, file, { stdout: toStdout(file) });
}

/** parse → plan → run → report → exit code. Errors of ours are one message on stderr, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let stoppedBy: number | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    stoppedBy ??= STOP_SIGNALS[name as keyof typeof STOP_SIGNALS];
    controller.abort();
  };
  const interrupted = () => 128 + (stoppedBy ?? STOP_SIGNALS.SIGINT);
  // `on`, not `once`: a signal with no listener left would end the process before the app is stopped.
  for (const name of Object.keys(STOP_SIGNALS)) process.on(name, onSignal);
  // A closed stdout (`| head`) raises SIGPIPE, which stops the run like any stop signal; the
  // write's own EPIPE error is not a crash.
  process.stdout.on('error', () => undefined);
  try {
    const request = parseCli(argv);
    if (request.help) {
      process.stdout.write({ main: HELP, watch: WATCH_HELP, 'merge-reports': MERGE_HELP }[request.help]);
      return 0;
    }
    if (request.version) {
      process.stdout.write(`${version}\n`);
      return 0;
    }
    if (request.watch) {
      const run = request.watch;
      const html = run.html;
      assertReportPaths([request.json, request.junit]);
      if (html !== undefined) assertWritable(html);
      const { watch } = await import('../watch/watch.js');
      const { formatWatch, writeWatchHtml } = await import('../watch/chart.js');
      const { html: _, ...load } = run;
      keepOffTracedCpu();
      const report = await watch({
        ...load,
        ...(request.overrides.timeout !== undefined ? { timeout: request.overrides.timeout } : {}),
        ...(request.overrides.strace !== undefined ? { strace: request.overrides.strace } : {}),
        ...(request.overrides.tracer !== undefined ? { tracer: request.overrides.tracer } : {}),
        ...(request.overrides.traceOut !== undefined ? { traceOut: request.overrides.traceOut } : {}),
        signal: controller.signal,
        appOutput: reportOnStdout(request.json, request.junit) ? 'stderr' : 'inherit',
      });
      const result = runResult([report]);
      await writeReports(result, request, request.json, request.junit);
      if (!request.quiet) humanStream(request.json, request.junit).write(terminalSafe(formatWatch(report.watch)));
      if (html !== undefined) await writeWatchHtml(report, html);
      return report.error?.code === 'INTERRUPTED' ? interrupted() : result.exitCode;
    }
    if (request.mergeReports) {
      assertReportPaths([request.json, request.junit]);
      const inputs = await reportFiles(request.mergeReports);
      assertReportsSpareInputs(
        [request.json, request.junit].filter((file) => file !== undefined && !toStdout(file)),
        inputs.map((file) => [file, 'a report being merged']),
      );
      const merged = mergeRunResults(inputs.map(readRunResult));
      await writeReports(merged, request, request.json, request.junit);
      return merged.exitCode;
    }
    const { plan, json, junit } = planRun(request, controller.signal);
    // Fail before the app runs, not after, when a report could not be written.
    assertReportPaths([json, junit]);
    assertReportsSpareInputs(
      [
        toStdout(json) ? undefined : json,
        toStdout(junit) ? undefined : junit,
        plan.checks.length === 1 ? plan.checks[0]!.traceOut : undefined,
      ],
      runInputs(plan),
    );
    if (plan.updateBaseline && plan.baselineFile !== undefined) assertWritable(plan.baselineFile, 'the baseline');
    if (plan.checks.length === 1 || plan.concurrency === 1) keepOffTracedCpu();
    const stopStatus = request.quiet
      ? () => undefined
      : showStatus(process.stderr, (seconds) => statusOf(plan, seconds));
    const result = await runChecks(plan).finally(stopStatus);
    await writeReports(result, request, json, junit);
    return result.checks.some((report) => report.error?.code === 'INTERRUPTED') ? interrupted() : result.exitCode;
  } catch (error) {
    if (isPreforkCheckError(error)) {
      process.stderr.write(`prefork-check: ${terminalSafe(error.message)}\n`);
      return error.code === 'INTERRUPTED' ? interrupted() : EXIT_ERROR;
    }
    process.stderr.write(
      `prefork-check: internal error: ${(error as Error)?.stack ?? String(error)}\nPlease report this with the command you ran.\n`,
    );
    return EXIT_ERROR;
  } finally {
    for (const name of Object.keys(STOP_SIGNALS)) process.off(name, onSignal);
  }
}
