import { groupBySite, siteOf } from './group-leaks.js';
import type { Leak, Report, RunResult } from '../report/types.js';
import { foldStack } from './console.js';
import { printable } from './printable.js';
import { xmlDocument, type XmlElement } from './xml.js';

const CLASS_NAME = 'prefork-check';

function failureBody(group: Leak[]): string {
  const lines = group.map(
    (leak) => `fd ${leak.fd} ${leak.kind} ${printable(leak.target)}${leak.cloexec ? ' (close-on-exec)' : ''}`,
  );
  const leak = group[0]!;
  if (leak.originNote) lines.push(`note: ${printable(leak.originNote)}`);
  if (leak.stack.length > 0) lines.push('stack:', ...foldStack(leak.stack).map((line) => `  ${line}`));
  if (leak.hint) lines.push(`fix: ${printable(leak.hint.text)}`, ...(leak.hint.see ? [`see: ${leak.hint.see}`] : []));
  return lines.join('\n');
}

interface TestCase {
  name: string;
  time: number;
  /** The creating line, for annotation actions. */
  at?: { file: string; line: number };
  outcome?:
    | { type: 'failure'; message: string; kind: string; body?: string }
    | { type: 'error'; message: string; kind: string }
    | { type: 'skipped' };
}

function testCaseElement(test: TestCase): XmlElement {
  const outcome = test.outcome;
  const child: XmlElement | undefined =
    outcome === undefined
      ? undefined
      : outcome.type === 'skipped'
        ? { name: 'skipped', attributes: [] }
        : {
            name: outcome.type,
            attributes: [
              ['message', outcome.message],
              ['type', outcome.kind],
            ],
            ...(outcome.type === 'failure' && outcome.body !== undefined ? { text: outcome.body } : {}),
          };
  return {
    name: 'testcase',
    attributes: [
      ['classname', CLASS_NAME],
      ['name', test.name],
      ['time', test.time],
      ['file', test.at?.file],
      ['line', test.at?.line],
    ],
    children: child ? [child] : [],
  };
}

/** One check's test cases: its error, a failing one per leak site (or one passing), its stale entries. */
function testCases(report: Report): TestCase[] {
  const cases: TestCase[] = [];
  const seconds = report.durationMs / 1000;
  if (report.error)
    cases.push({
      name: 'reaches its fork point',
      time: seconds,
      outcome: { type: 'error', message: printable(report.error.message), kind: report.error.code },
    });
  const counted = groupBySite(report.leaks.filter((leak) => !leak.allowed));
  const names = counted.map((group) => {
    const count = group.length > 1 ? ` (x${group.length})` : '';
    return `no ${group[0]!.kind} left open by ${siteOf(group[0]!)}${count}`;
  });
  const uses = new Map<string, number>();
  for (const name of names) uses.set(name, (uses.get(name) ?? 0) + 1);
  counted.forEach((group, at) => {
    const leak = group[0]!;
    // One line's fds of one kind that need different fixes are groups of their own: their fix tells them apart.
    const repeated = uses.get(names[at]!)! > 1;
    // XML cannot hold most control characters: they are written as \xNN, like the console does.
    // A leak is found at the fork point, not timed on its own: the check's time is the suite's.
    cases.push({
      name: printable(repeated && leak.hint ? `${names[at]!} (fix: ${leak.hint.id})` : names[at]!),
      time: 0,
      ...(leak.origin && !leak.origin.file.startsWith('<')
        ? { at: { file: printable(leak.origin.file), line: leak.origin.line } }
        : {}),
      outcome: {
        type: 'failure',
        message: printable(
          `${group.length} ${leak.kind} fd${group.length > 1 ? 's' : ''} open at the fork point: ${leak.target}${leak.hint ? `. Fix: ${leak.hint.text}` : ''}`,
        ),
        kind: 'LeakedFd',
        body: failureBody(group),
      },
    });
  });
  if (!report.error && counted.length === 0)
    cases.push({ name: 'nothing open at the fork point beyond stdio', time: seconds });
  // Stale entries fail the check only under --strict, which shows as a failure with no leak left.
  const staleFails = report.status === 'fail' && counted.length === 0;
  for (const entry of report.stale)
    cases.push({
      name: printable(`baseline entry still matches a leak: ${entry.key}`),
      time: 0,
      outcome: staleFails
        ? {
            type: 'failure',
            message: 'The leak this baseline entry records is gone (--strict): run --update-baseline.',
            kind: 'StaleBaselineEntry',
          }
        : { type: 'skipped' },
    });
  return cases;
}

/** How many test cases end each way: the counts testsuites and testsuite carry. */
function counts(cases: TestCase[]): [string, number][] {
  const of = (type: string) => cases.filter((test) => test.outcome?.type === type).length;
  return [
    ['tests', cases.length],
    ['failures', of('failure')],
    ['errors', of('error')],
    ['skipped', of('skipped')],
  ];
}

/**
 * JUnit XML: one testsuite per check, one failing testcase per leak site, one passing testcase when
 * clean. Written here rather than with a builder library: the `line` attribute annotation actions
 * read has no setter in junit-report-builder, and the whole format is these few elements.
 */
export function formatJunit(result: RunResult): string {
  const suites = result.checks.map((report) => ({ report, cases: testCases(report) }));
  const all = suites.flatMap((suite) => suite.cases);
  return xmlDocument({
    name: 'testsuites',
    attributes: counts(all),
    children: suites.map(({ report, cases }) => ({
      name: 'testsuite',
      attributes: [['name', printable(report.name)], ['time', report.durationMs / 1000], ...counts(cases)],
      children: cases.map(testCaseElement),
    })),
  });
}
