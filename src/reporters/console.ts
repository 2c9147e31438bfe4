import { basename } from 'node:path';
import type { Creator } from '../model/open-file.js';
import { groupBySite } from './group-leaks.js';
import { excuseWords } from './excuse-words.js';
import { printable, printableLines } from './printable.js';
import type { Leak, Report, RunResult, StackFrame } from '../report/types.js';

export interface ConsoleOptions {
  /** @default false */
  color?: boolean;
  /** Only the verdict line. @default false */
  quiet?: boolean;
  /** Allowed fds in full (flags, creator, origin, stack), not one line each. @default false */
  verbose?: boolean;
}

const STYLES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

function madeBy(creator: Creator): string {
  switch (creator.type) {
    case 'syscall':
      return `pid ${creator.pid}${creator.program ? ` (${printable(basename(creator.program))})` : ''}, ${creator.syscall}()`;
    case 'inherited':
      return creator.from === 'stdio' ? 'inherited at start' : "inherited from prefork-check's parent (--inherit-fds)";
    case 'unknown':
      return 'unknown: the trace never showed it being made';
  }
}

/** The package a library frame belongs to, as people name it: `sqlalchemy`, `socket`, `importlib`, `rack`. */
function packageOf(frame: StackFrame): string {
  return frame.module.split(/[./]/)[0] || basename(frame.file);
}

/** Native frames shown per fd: the C library and the code that called it. */
const NATIVE_SHOWN = 8;

/** A stack as lines, innermost first; each run of library frames folded into one line that names its packages. */
export function foldStack(stack: StackFrame[]): string[] {
  const lines: string[] = [];
  // A stack of library frames only (a server's own listener) is shown whole: it is all there is.
  const fold = stack.some((frame) => !frame.library);
  for (let i = 0; i < stack.length;) {
    const frame = stack[i]!;
    if (!frame.library || !fold) {
      lines.push(`${printable(frame.file)}:${frame.line} in ${printable(frame.function)}`);
      i++;
      continue;
    }
    let end = i;
    while (end < stack.length && stack[end]!.library) end++;
    const packages = [...new Set(stack.slice(i, end).map(packageOf))];
    lines.push(`… ${plural(end - i, 'library frame')} (${printable(packages.join(', '))})`);
    i = end;
  }
  return lines;
}

function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}

type Paint = (style: keyof typeof STYLES, text: string) => string;

/** One check's report: a block per creating site beyond stdio, then its verdict and warnings. */
export function formatReport(report: Report, options: ConsoleOptions = {}): string {
  const paint: Paint = (style, text) => (options.color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text);
  const lines: string[] = [];
  if (!options.quiet) {
    const where =
      report.forkPoint.mode === 'watch'
        ? `watch: ${printable(report.forkPoint.description)}`
        : report.forkPoint.reached
          ? `fork point: ${printable(report.forkPoint.description)}`
          : `fork point not reached (${report.forkPoint.mode})`;
    // strace is named: it runs where prefork-check's own tracer cannot, or when asked for.
    const tracer = report.tool.tracer === 'strace' ? ' · traced by strace' : '';
    lines.push(paint('dim', `prefork-check ${report.tool.version} · ${printable(report.name)} · ${where}${tracer}`));
    if (report.preset) {
      const how = report.preset.detected ? 'detected from the command; `--preset none` turns it off' : 'chosen';
      lines.push(
        paint('dim', `  preset ${report.preset.name} (${how}): its fork point, and its own fds allowed by their role`),
      );
    }
    for (const note of report.forkPoint.notes) lines.push(paint('dim', `  note: ${printable(note)}`));
    const worker = report.forkPoint.worker;
    if (worker)
      lines.push(
        paint(
          'dim',
          worker.ready
            ? `  worker: pid ${worker.pid} followed to its ready point (${printable(worker.how)}); what it closed before is not counted`
            : `  worker: pid ${worker.pid} followed, but ${printable(worker.how)}: nothing it closed is excused`,
        ),
      );
    if (report.error && report.leaks.length > 0)
      lines.push('', `Open when the check stopped${report.forkPoint.pid ? ` (pid ${report.forkPoint.pid})` : ''}:`);
    let inRunOfOneLiners = false;
    for (const group of groupBySite(report.leaks)) {
      // An allowed fd is one line (what it is, what allowed it), consecutive ones together; in full under --verbose.
      const block = leakBlock(group, paint);
      const oneLine = group[0]!.allowed && !options.verbose;
      if (!oneLine || !inRunOfOneLiners) lines.push('');
      lines.push(...(oneLine ? block.slice(0, 1) : block));
      inRunOfOneLiners = oneLine;
    }
    lines.push('');
  }
  // Alone, a verdict line says which check it is about.
  lines.push(verdict(report, paint, options.quiet ? `${printable(report.name)}: ` : ''));
  for (const entry of report.stale)
    lines.push(
      paint(
        'yellow',
        entry.seen === undefined
          ? `      stale baseline entry (the leak is gone; --update-baseline drops it): ${printable(entry.key)}`
          : `      stale baseline entry (it lists ${entry.count} fds, ${entry.seen} open now; --update-baseline lowers it): ${printable(entry.key)}`,
      ),
    );
  for (const rule of report.rules.filter((use) => use.allowed === 0 && !use.preset))
    lines.push(paint('yellow', `      allow rule matched nothing: ${printable(rule.rule)}`));
  return lines.join('\n') + '\n';
}

/** The console output of a run: each check, then a summary line when there were several. */
export function formatConsole(result: RunResult, options: ConsoleOptions = {}): string {
  const paint: Paint = (style, text) => (options.color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text);
  const parts = result.checks.map((report) => formatReport(report, options));
  if (result.config && !options.quiet) {
    const settings = result.config.settings.length > 0 ? ` (gives ${result.config.settings.join(', ')})` : '';
    parts.unshift(paint('dim', `config: ${printable(result.config.file)}${printable(settings)}\n`));
  }
  if (result.baseline?.diff && !options.quiet)
    parts.push(`Baseline ${printable(result.baseline.file)} updated:\n${result.baseline.diff}`);
  else if (result.baseline?.missing)
    parts.push(
      paint(
        'yellow',
        `Baseline ${printable(result.baseline.file)} does not exist: no leak was excused by it (--update-baseline creates it).\n`,
      ),
    );
  else if (result.baseline?.notUpdated)
    parts.push(
      paint('yellow', `Baseline ${printable(result.baseline.file)} not updated: ${result.baseline.notUpdated}.\n`),
    );
  else if (result.baseline && !result.baseline.updated && !options.quiet && result.baseline.file)
    parts.push(paint('dim', `baseline: ${printable(result.baseline.file)}\n`));
  for (const entry of result.baseline?.stale ?? [])
    parts.push(
      paint(
        'yellow',
        `stale baseline entry (its check is no longer in the config; --update-baseline drops it): ${printable(entry.key)}\n`,
      ),
    );
  if (result.checks.length > 1) {
    const count = (status: string) => result.checks.filter((report) => report.status === status);
    const failed = count('fail');
    const errors = count('error');
    const words = [
      `${count('pass').length} passed`,
      ...(failed.length
        ? [`${failed.length} failed (${failed.map((report) => printable(report.name)).join(', ')})`]
        : []),
      ...(errors.length
        ? [`${errors.length} could not be checked (${errors.map((report) => printable(report.name)).join(', ')})`]
        : []),
    ];
    const label =
      result.status === 'pass'
        ? paint('green', 'PASS')
        : result.status === 'fail'
          ? paint('red', 'FAIL')
          : paint('red', 'ERROR');
    parts.push(
      `${label}  ${plural(result.checks.length, 'check')}${result.shard ? ` (shard ${result.shard.index}/${result.shard.count})` : ''}: ${words.join(', ')}\n`,
    );
  }
  return parts.join('\n');
}

function fdList(group: Leak[]): string {
  const fds = group.map((leak) => leak.fd);
  return fds.length <= 6 ? fds.join(', ') : `${fds.slice(0, 5).join(', ')}, …`;
}

function leakBlock(group: Leak[], paint: Paint): string[] {
  const leak = group[0]!;
  const count = group.length;
  const fds = count === 1 ? `fd ${String(leak.fd).padEnd(4)}` : `fds ${fdList(group)} (x${count})`;
  const others = group.filter((other) => other.target !== leak.target).length;
  const target = `${printable(leak.target)}${others > 0 ? paint('dim', ` and ${others} other target${others === 1 ? '' : 's'}`) : ''}`;
  const head = `  ${fds} ${leak.kind.padEnd(9)} ${target}`;
  const flags = [...leak.flags, ...(leak.cloexec ? ['O_CLOEXEC'] : [])].join('|') || '-';
  const lines = [
    leak.allowed ? paint('dim', `${head}  (${excuse(leak)})`) : paint('bold', head),
    `          flags     ${printable(flags)}${leak.cloexec ? paint('dim', '  (close-on-exec does not protect forked workers)') : ''}`,
    `          made by   ${madeBy(leak.createdBy)}${leak.duplicateOf !== undefined ? `, a duplicate of fd ${leak.duplicateOf}` : ''}`,
    `          origin    ${leak.origin ? `${printable(leak.origin.file)}:${leak.origin.line} in ${printable(leak.origin.function)}${leak.origin.native ? ' (native)' : ''}` : paint('dim', 'none')}`,
  ];
  if (leak.openedAs !== undefined) lines.push(`          opened as ${printable(leak.openedAs)}`);
  if (leak.originNote) lines.push(paint('dim', `          note      ${printable(leak.originNote)}`));
  foldStack(leak.stack).forEach((entry, i) =>
    lines.push(
      `          ${i === 0 ? 'stack' : '     '}     ${i === 0 ? entry : paint('dim', entry)}`.replace(/ +$/, ''),
    ),
  );
  const native = leak.nativeStack ?? [];
  native
    .slice(0, NATIVE_SHOWN)
    .forEach((frame, i) =>
      lines.push(
        `          ${i === 0 ? 'native' : '      '}    ${i === 0 ? printable(frame) : paint('dim', printable(frame))}`,
      ),
    );
  if (native.length > NATIVE_SHOWN)
    lines.push(
      paint('dim', `                    … ${native.length - NATIVE_SHOWN} more native frames (all in the JSON report)`),
    );
  const sharing = [
    ...new Set(
      group.slice(0, 16).flatMap((member) => (member.sameTargetAs ? [member.fd, ...member.sameTargetAs] : [])),
    ),
  ].sort((a, b) => a - b);
  const total = Math.max(...group.map((member) => member.sameTargetCount ?? 0));
  if (sharing.length > 0) {
    const fds =
      total > sharing.length ? `${total} fds (${sharing.slice(0, 5).join(', ')}, …)` : `fds ${sharing.join(', ')}`;
    lines.push(
      paint(
        'yellow',
        `          duplicate ${fds} are open on the same ${leak.kind === 'socket' ? 'socket' : leak.kind}`,
      ),
    );
  }
  if (leak.hint && !leak.allowed) lines.push(...wrapped('fix', leak.hint.text, paint), ...seeLine(leak.hint.see));
  if (leak.beyondBaseline)
    lines.push(
      paint(
        'yellow',
        `          baseline  lists ${plural(leak.beyondBaseline.count, 'fd')} of this kind here; ${count === 1 ? 'this one is' : 'these are'} beyond that: ${printable(leak.beyondBaseline.key)}`,
      ),
    );
  if (leak.unaccounted)
    lines.push(
      paint('yellow', '          warning   the trace never showed this fd being made; the model may be incomplete'),
    );
  return lines;
}

const LABEL_WIDTH = 20;
const LINE_WIDTH = 100;

/** `          fix       words…` wrapped at LINE_WIDTH, continuation lines under the first word. */
function wrapped(label: string, text: string, paint: Paint): string[] {
  const lines = [`          ${label.padEnd(LABEL_WIDTH - 10)}`];
  for (const word of printable(text).split(' ')) {
    const last = lines.length - 1;
    if (lines[last]!.length > LABEL_WIDTH && lines[last]!.length + 1 + word.length > LINE_WIDTH)
      lines.push(' '.repeat(LABEL_WIDTH) + word);
    else lines[last] += (lines[last]!.length > LABEL_WIDTH ? ' ' : '') + word;
  }
  return lines.map((line, i) => (i === 0 ? line : paint('dim', line)));
}

function seeLine(see: string | undefined): string[] {
  return see === undefined ? [] : [`${' '.repeat(LABEL_WIDTH)}see ${printable(see)}`];
}

/** What excused an fd, as its one line says it. */
function excuse(leak: Leak): string {
  const by = printable(excuseWords(leak) ?? '');
  return leak.closedInWorker ? by : `allowed by ${by}`;
}

function verdict(report: Report, paint: Paint, name: string): string {
  const counted = report.leaks.filter((leak) => !leak.allowed);
  const closed = report.leaks.filter((leak) => leak.closedInWorker).length;
  const allowed = report.leaks.length - counted.length - closed;
  const tail =
    (allowed > 0 ? `; ${allowed} allowed` : '') +
    (closed > 0 ? `; ${closed} closed by the worker before it served` : '') +
    (report.forkPoint.incomplete ? `; the table may be incomplete (${report.forkPoint.incomplete})` : '');
  if (report.status === 'error')
    return `${paint('red', 'ERROR')} ${name}${report.error ? printableLines(report.error.message) : 'the check could not be completed'}`;
  if (report.status === 'pass')
    return `${paint('green', 'PASS')}  ${name}nothing open at the fork point beyond stdio${tail}`;
  if (counted.length === 0)
    return `${paint('red', 'FAIL')}  ${name}${plural(report.stale.length, 'stale baseline entry', 'stale baseline entries')} (--strict)${tail}`;
  const byKind = new Map<string, number>();
  for (const leak of counted) byKind.set(leak.kind, (byKind.get(leak.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([kind, count]) => plural(count, kind)).join(', ');
  const where = report.forkPoint.mode === 'watch' ? 'made under load and never closed' : 'open at the fork point';
  return `${paint('red', 'FAIL')}  ${name}${plural(counted.length, 'fd')} ${where} (${kinds})${tail}`;
}
