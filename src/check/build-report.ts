import type { PreflightedOptions } from '../options/options.js';
import { compileRule, type CompiledRule } from '../rules/allow-rule.js';
import { version } from '../version.js';
import { applyAllowRules } from '../rules/apply-rules.js';
import type { ClosedInWorker, Excuse, FdRecord, ForkPointReport, Leak, Report } from '../report/types.js';
import { settle } from '../report/verdict.js';
import { hintFor } from '../hints/choose-hint.js';
import { presetsToSuggest } from '../presets/presets.js';
import { replacedInChildren } from './replaced-in-children.js';

const STDIO = 2;

export interface ReportInput
  extends
    Pick<PreflightedOptions, 'name' | 'command' | 'allow' | 'preset' | 'tracer'>,
    Partial<Pick<PreflightedOptions, 'presetDeclined'>> {
  forkPoint: ForkPointReport;
  table: FdRecord[];
  projectRoot: string;
  error?: { code: string; message: string };
  startedAt: number;
  /** By fd: what the first worker closed before it was ready to serve. */
  closedInWorker?: Map<number, ClosedInWorker>;
  /** The check follows the first worker to its ready point: what its hook closes there is seen. */
  workerFollowed?: boolean;
  /** The caller's own excuse for a leak nothing else excused (a watch: growth within --max-growth). */
  alsoExcuse?: (leak: Leak) => Excuse | undefined;
  /**
   * false (--no-attribution): no stack tells a server's fds from the app's, so the preset excuses
   * none (uWSGI's, known by having no line, would excuse every app fd that has none then).
   */
  attribution?: boolean;
}

/** A leak nothing else excused, excused by the caller's own excuse, if it gives one. */
function creditCaller(leak: Leak, alsoExcuse: ReportInput['alsoExcuse']): Leak {
  const excuse = leak.allowed ? undefined : alsoExcuse?.(leak);
  return excuse ? { ...leak, allowed: true, excuse } : leak;
}

/** A leak nothing else excused, excused when the first worker closed it before it served. */
function creditWorker(leak: Leak, closedInWorker: Map<number, ClosedInWorker> | undefined): Leak {
  const closed = leak.allowed ? undefined : closedInWorker?.get(leak.fd);
  if (!closed) return leak;
  return { ...leak, allowed: true, excuse: { type: 'worker', label: String(closed.pid) }, closedInWorker: closed };
}

/** What identifies "the same file or socket" across fds: a path, or a socket's inode. Pipes' two ends are not duplicates. */
function identity(leak: FdRecord): string | undefined {
  if (leak.kind === 'socket') return leak.inode === undefined ? undefined : `socket ${leak.inode}`;
  if (leak.kind === 'file' || leak.kind === 'directory' || leak.kind === 'device' || leak.kind === 'fifo')
    return `${leak.kind} ${leak.target}`;
  return undefined;
}

/** Others listed per fd: enough to find them, without a list of 10,000 on each of 10,000 fds. */
const SAME_TARGET_LISTED = 16;

function markSameTargets(leaks: FdRecord[]): void {
  const byIdentity = new Map<string, FdRecord[]>();
  for (const leak of leaks) {
    const key = identity(leak);
    if (key === undefined) continue;
    const group = byIdentity.get(key);
    if (group) group.push(leak);
    else byIdentity.set(key, [leak]);
  }
  for (const group of byIdentity.values()) {
    if (group.length < 2) continue;
    const listed = group.slice(0, SAME_TARGET_LISTED + 1);
    for (const leak of group) {
      leak.sameTargetAs = listed
        .filter((other) => other !== leak)
        .slice(0, SAME_TARGET_LISTED)
        .map((other) => other.fd);
      leak.sameTargetCount = group.length;
    }
  }
}

const STDIO_NAMES = ['stdin', 'stdout', 'stderr'] as const;

/**
 * Notes for fds 0-2 that no longer are what the app was started with: closed, or another file
 * put there (`dup2` of a log over stdout). Workers share them too, so the report says what they are.
 */
function stdioNotes(table: FdRecord[]): string[] {
  return STDIO_NAMES.flatMap((name, fd) => {
    const record = table.find((candidate) => candidate.fd === fd);
    if (record === undefined) return [`fd ${fd} (${name}) is closed`];
    if (record.stdio !== undefined) return [];
    const at = record.origin ? ` at ${record.origin.file}:${record.origin.line}` : '';
    const by = record.createdBy.type === 'syscall' ? `, made by ${record.createdBy.syscall}()${at}` : '';
    return [`fd ${fd} (${name}) is no longer the ${name} it was started with: ${record.kind} ${record.target}${by}`];
  });
}

/**
 * An fd that took a slot of stdio the app had closed (its lowest free number) without being put
 * there on purpose (dup2, dup3): a database opened after `os.close(0)` is no stdio, and every
 * worker shares it. A device (daemonizing opens /dev/null into the freed slot; a terminal) is stdio still.
 */
function landedInStdio(record: FdRecord): boolean {
  return (
    record.fd <= STDIO &&
    record.stdio === undefined &&
    record.kind !== 'device' &&
    record.placed === undefined &&
    record.createdBy.type === 'syscall'
  );
}

/**
 * Every fd beyond stdio is a leak unless something excuses it: a rule, the server's preset, being a
 * duplicate of stdio, a runtime or library replacing it in each child, the worker's hook, the
 * caller. The verdict is settled here, and again only where a later stage excuses more (the
 * baseline, applyBaseline).
 */
export function buildReport(input: ReportInput): Report {
  const records = input.table.filter((record) => record.fd > STDIO || landedInStdio(record));
  // Duplicates first: the supervisor preset excuses a log file only when it is open once.
  markSameTargets(records);
  // Without lines (--no-attribution) nothing tells a server's fds from the app's.
  const presetExcuses = input.preset !== undefined && input.attribution !== false;
  const ownFds = presetExcuses ? input.preset!.preset.ownFds : [];
  const presetRules: CompiledRule[] = ownFds.map((own) => ({
    label: `preset ${input.preset!.preset.name}: ${own.role}`,
    matches: own.matches,
    preset: input.preset!.preset.name,
  }));
  const replaced = new Map(records.map((record) => [record, replacedInChildren(record, records)]));
  const { leaks: ruled, rules } = applyAllowRules(
    records.filter((record) => record.stdio === undefined && replaced.get(record) === undefined),
    [...input.allow.map((rule) => compileRule(rule, input.projectRoot)), ...presetRules],
  );
  // Another fd on the app's own stdin, stdout or stderr shares nothing new with workers.
  const stdio = records
    .filter((record) => record.stdio !== undefined)
    .map((record): Leak => ({
      ...record,
      allowed: true,
      excuse: { type: 'stdio', label: record.stdio! },
    }));
  const runtimes = records.flatMap((record): Leak[] => {
    const owner = replaced.get(record);
    return owner === undefined ? [] : [{ ...record, allowed: true, excuse: { type: 'runtime', label: owner } }];
  });
  const preset = input.preset?.preset.name;
  const hinted = ruled
    .map((leak) => creditWorker(leak, input.closedInWorker))
    .map((leak) => creditCaller(leak, input.alsoExcuse))
    .map((leak) => (leak.allowed ? leak : { ...leak, hint: hintFor(leak, preset, input.workerFollowed) }));
  const leaks = [...hinted, ...stdio, ...runtimes].sort((a, b) => a.fd - b.fd);
  const suggested =
    input.preset === undefined && !input.presetDeclined && input.forkPoint.mode === 'first-fork'
      ? presetsToSuggest(hinted.filter((leak) => !leak.allowed))
      : [];
  return settle(
    {
      name: input.name,
      status: 'pass',
      exitCode: 0,
      command: input.command,
      cwd: input.projectRoot,
      // A table read where the app never started (strace failed) has no stdio to speak of.
      forkPoint: {
        ...input.forkPoint,
        notes: [
          ...input.forkPoint.notes,
          ...(input.table.length > 0 ? stdioNotes(input.table) : []),
          ...suggested.map(
            (name) =>
              `fds ${name} makes for its own processes count: if ${name} is this app's server (its fork the workers'), --preset ${name} allows them`,
          ),
          ...(input.preset && !presetExcuses
            ? [
                `--no-attribution: preset ${input.preset.preset.name} sets the fork point only; none of its own fds is told from the app's`,
              ]
            : []),
        ],
      },
      ...(input.preset ? { preset: { name: input.preset.preset.name, detected: input.preset.detected } } : {}),
      leaks,
      rules,
      stale: [],
      table: input.table,
      ...(input.error ? { error: input.error } : {}),
      durationMs: Date.now() - input.startedAt,
      tool: { name: 'prefork-check', version, tracer: input.tracer },
    },
    false,
  );
}
