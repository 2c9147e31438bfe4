import { createRequire } from 'node:module';
import type { Builder } from 'junit-report-builder';
import { groupBySite, siteOf } from '../report/group-leaks.js';
import type { Leak, Report, RunResult } from '../report/types.js';
import { foldStack } from './console.js';
import { printable } from './printable.js';
import { writeFileAtomic } from '../files/write-atomic.js';

/**
 * junit-report-builder, loaded on first use: its import takes ~50 ms, which every
 * `import 'prefork-check'` would pay though most runs write no JUnit.
 */
let junit: Builder | undefined;
function junitBuilder(): Builder {
  if (junit === undefined) {
    // A CommonJS package with a transpiled default export: TypeScript sees it one level deeper than Node loads it.
    const loaded = createRequire(import.meta.url)('junit-report-builder') as { default?: Builder } & Builder;
    junit = loaded.default ?? loaded;
  }
  return junit;
}

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

type TestCase = ReturnType<ReturnType<Builder['testSuite']>['testCase']>;

/**
 * The `line` attribute beside `file`, which annotation actions read to point at the line.
 * junit-report-builder has no setter for it; its element attributes are this one object.
 */
function atLine(testCase: TestCase, line: number): void {
  const attributes = (testCase as unknown as { _attributes?: Record<string, unknown> })._attributes;
  if (attributes) attributes.line = line;
}

function addCheck(builder: Builder, report: Report): void {
  const suite = builder
    .testSuite()
    .name(printable(report.name))
    .time(report.durationMs / 1000);
  const className = 'prefork-check';
  if (report.error) {
    suite
      .testCase()
      .className(className)
      .name('reaches its fork point')
      .time(report.durationMs / 1000)
      .error(printable(report.error.message), report.error.code);
  }
  const counted = groupBySite(report.leaks.filter((leak) => !leak.allowed));
  for (const group of counted) {
    const leak = group[0]!;
    const count = group.length > 1 ? ` (x${group.length})` : '';
    // XML cannot hold most control characters: they are written as \xNN, like the console does.
    // A leak is found at the fork point, not timed on its own: the check's time is the suite's.
    const testCase = suite
      .testCase()
      .className(className)
      .name(printable(`no ${leak.kind} left open by ${siteOf(leak)}${count}`))
      .time(0);
    if (leak.origin && !leak.origin.file.startsWith('<')) {
      testCase.file(printable(leak.origin.file));
      atLine(testCase, leak.origin.line);
    }
    testCase
      .failure(
        printable(
          `${group.length} ${leak.kind} fd${group.length > 1 ? 's' : ''} open at the fork point: ${leak.target}${leak.hint ? `. Fix: ${leak.hint.text}` : ''}`,
        ),
        'LeakedFd',
      )
      .stacktrace(failureBody(group));
  }
  if (!report.error && counted.length === 0)
    suite
      .testCase()
      .className(className)
      .name('nothing open at the fork point beyond stdio')
      .time(report.durationMs / 1000);
  // Stale entries fail the check only under --strict, which shows as a failure with no leak left.
  const staleFails = report.status === 'fail' && counted.length === 0;
  for (const entry of report.stale) {
    const testCase = suite
      .testCase()
      .className(className)
      .name(printable(`baseline entry still matches a leak: ${entry.key}`));
    if (staleFails)
      testCase.failure(
        'The leak this baseline entry records is gone (--strict): run --update-baseline.',
        'StaleBaselineEntry',
      );
    else testCase.skipped();
  }
}

/** JUnit XML: one testsuite per check, one failing testcase per leak site, one passing testcase when clean. */
export function formatJunit(result: RunResult): string {
  const builder = junitBuilder().newBuilder();
  for (const report of result.checks) addCheck(builder, report);
  return builder.build();
}

export async function writeJunitReport(result: RunResult, file: string): Promise<void> {
  await writeFileAtomic(file, formatJunit(result));
}
