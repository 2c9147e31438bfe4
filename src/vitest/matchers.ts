import { resolve } from 'node:path';
import { siteOf } from '../reporters/group-leaks.js';
import type { Leak, Report } from '../report/types.js';

function leakLine(leak: Leak): string {
  const where = leak.origin
    ? `${leak.origin.file}:${leak.origin.line} in ${leak.origin.function}${leak.origin.native ? ' (native)' : ''}`
    : siteOf(leak);
  return `  fd ${leak.fd} ${leak.kind} ${leak.target}\n      made at ${where}${leak.originNote ? `\n      ${leak.originNote}` : ''}`;
}

/** Why a report is not clean, in words a test failure can show; undefined when it is clean. */
export function describeFailure(report: Report): string | undefined {
  if (report.error)
    return `The fork check "${report.name}" could not be done (${report.error.code}): ${report.error.message}`;
  const counted = report.leaks.filter((leak) => !leak.allowed);
  const stale = report.status === 'fail' && counted.length === 0 ? report.stale : [];
  if (counted.length === 0 && stale.length === 0) return undefined;
  const lines = [
    `Expected nothing open at the fork point of "${report.name}" beyond stdio, found ${counted.length} fd${counted.length === 1 ? '' : 's'}:`,
  ];
  lines.push(...counted.map(leakLine));
  if (stale.length > 0)
    lines.push(
      'Stale baseline entries (--strict): the leaks they record are gone:',
      ...stale.map((entry) => `  ${entry.key}`),
    );
  return lines.join('\n');
}

/** Stack frames at the leaks' creating lines, so test output and UIs open the app's source, not ours. */
export function sourceFrames(report: Report): string {
  return report.leaks
    .filter((leak) => !leak.allowed && leak.origin && !leak.origin.file.startsWith('<'))
    .map((leak) => `    at ${leak.origin!.function} (${resolve(report.cwd, leak.origin!.file)}:${leak.origin!.line}:1)`)
    .join('\n');
}

function isReport(value: unknown): value is Report {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Report).leaks) &&
    typeof (value as Report).status === 'string'
  );
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

export const matchers = {
  /** `expect(report).toHaveNoLeakedFds()`: the check reached its fork point with nothing beyond stdio open (or only allowed fds). */
  toHaveNoLeakedFds(received: unknown): MatcherResult {
    if (!isReport(received))
      return { pass: false, message: () => 'Expected a prefork-check report (from checkFork), got something else.' };
    const failure = describeFailure(received);
    return {
      pass: failure === undefined,
      message: () => failure ?? `Expected fds open at the fork point of "${received.name}", found none beyond stdio.`,
    };
  },
};

// `T = any`: a declaration merge must repeat Vitest's own type parameters.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare module 'vitest' {
  interface Matchers<T = any> {
    /** The fork check reached its fork point with nothing unexpected open. */
    toHaveNoLeakedFds(): T;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */
