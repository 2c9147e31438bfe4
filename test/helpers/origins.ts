import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Report } from '../../src/report/types.js';
import { ROOT } from './run-cli.js';

/**
 * The origins a fixture declares: each line that makes a leaked fd ends with
 * `# origin: <function>` (and ` native` when the fd is made in native code; several separated by
 * `, ` when one line makes both kinds), or `# origin: none` when no line can be named.
 */
export function declaredOrigins(file: string): string[] {
  const shown = relative(ROOT, file);
  const origins = new Set<string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      // One or more, `, `-separated: a call whose fds come from Python and from native code.
      const marks = /# origin: (\S+(?: native)?(?:, \S+(?: native)?)*)$/.exec(text)?.[1]?.split(', ') ?? [];
      for (const mark of marks) origins.add(mark === 'none' ? 'null' : `${shown}:${index + 1} ${mark}`);
    });
  return [...origins].sort();
}

/** The distinct origins of a report's counted leaks, in the same form; `null` for a leak without one. */
export function reportedOrigins(report: Report): string[] {
  const origins = new Set<string>();
  for (const leak of report.leaks.filter((leak) => !leak.allowed)) {
    const origin = leak.origin;
    origins.add(origin ? `${origin.file}:${origin.line} ${origin.function}${origin.native ? ' native' : ''}` : 'null');
  }
  return [...origins].sort();
}
