import { appendFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { groupBySite, siteOf } from './group-leaks.js';
import { excuseWords } from './excuse-words.js';
import type { Leak, Report, RunResult } from '../report/types.js';
import { printable, printableLines } from './printable.js';

// Workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
const escapeData = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

function command(
  level: 'error' | 'warning',
  properties: Record<string, string | number | undefined>,
  message: string,
): string {
  const props = Object.entries(properties)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${escapeProperty(printable(String(value)))}`)
    .join(',');
  // Control characters as escapes (the runner's log is a terminal too); line breaks as the runner encodes them.
  return `::${level} ${props}::${escapeData(printableLines(message))}`;
}

/** The origin's file relative to the workspace, where GitHub can put an annotation on it. */
function annotatedFile(report: Report, leak: Leak, workspace: string): string | undefined {
  const file = leak.origin?.file;
  if (file === undefined || file.startsWith('<')) return undefined;
  const inWorkspace = relative(workspace, isAbsolute(file) ? file : resolve(report.cwd, file));
  return inWorkspace.startsWith('..') || isAbsolute(inWorkspace) ? undefined : inWorkspace;
}

/** `::error file=app.py,line=8::...` at each leak site's creating line (or without a file when there is none). */
function formatAnnotations(result: RunResult, workspace: string): string {
  const lines: string[] = [];
  for (const report of result.checks) {
    if (report.error)
      lines.push(
        command('error', { title: `prefork-check: ${report.name} could not be checked` }, report.error.message),
      );
    for (const group of groupBySite(report.leaks.filter((leak) => !leak.allowed))) {
      const leak = group[0]!;
      const file = annotatedFile(report, leak, workspace);
      const count = group.length > 1 ? `${group.length} fds` : `fd ${leak.fd}`;
      const fix = leak.hint ? ` Fix: ${leak.hint.text}${leak.hint.see ? ` (${leak.hint.see})` : ''}` : '';
      const message = `${count} (${leak.kind} ${leak.target}) still open when ${report.name} forks its workers: every worker shares it. Made by ${siteOf(leak)}.${fix}`;
      lines.push(
        command(
          'error',
          {
            file,
            line: file ? leak.origin!.line : undefined,
            title: `prefork-check: ${leak.kind} left open at the fork point`,
          },
          message,
        ),
      );
    }
    for (const entry of report.stale)
      lines.push(
        command(
          'warning',
          { title: `prefork-check: stale baseline entry in ${report.name}` },
          `The leak this entry records is gone: ${entry.key}. Run --update-baseline to drop it.`,
        ),
      );
  }
  for (const entry of result.baseline?.stale ?? [])
    lines.push(
      command(
        'warning',
        { title: 'prefork-check: stale baseline entry' },
        `Its check is no longer in the config: ${entry.key}. Run --update-baseline to drop it.`,
      ),
    );
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/**
 * Text from the app, a config or a report as plain text in a Markdown table cell: control
 * characters shown as escapes (a newline would end the row), and every ASCII punctuation mark
 * backslash-escaped, so that no backtick, bracket or `<` can open a code span, a link or raw HTML.
 */
const cell = (text: string) => printable(text).replace(/[!-/:-@[-`{-~]/g, '\\$&');
/** The same, shown as code. Inside `<code>` Markdown still reads escapes, where a code span would not. */
const code = (text: string) => `<code>${cell(text)}</code>`;

/** A Markdown summary for $GITHUB_STEP_SUMMARY: each check's verdict and a table of what was open. */
function formatStepSummary(result: RunResult): string {
  const icon = { pass: '✅', fail: '❌', error: '⚠️' } as const;
  const lines = ['## prefork-check', ''];
  for (const report of result.checks) {
    const counted = report.leaks.filter((leak) => !leak.allowed);
    const verdict = report.error
      ? report.error.message
      : counted.length === 0
        ? 'nothing open at the fork point beyond stdio'
        : `${counted.length} fd(s) open at the fork point`;
    lines.push(`### ${icon[report.status]} ${cell(report.name)}: ${cell(verdict)}`, '');
    if (report.leaks.length === 0) continue;
    lines.push('| fd | kind | target | made at | status | fix |', '|---|---|---|---|---|---|');
    for (const leak of report.leaks) {
      const where = leak.origin
        ? `${code(`${leak.origin.file}:${leak.origin.line}`)} in ${code(leak.origin.function)}`
        : cell(siteOf(leak));
      lines.push(
        `| ${leak.fd} | ${leak.kind} | ${code(leak.target)} | ${where} | ${leak.allowed ? `allowed (${cell(excuseWords(leak) ?? '')})` : '**leak**'} | ${leak.hint && !leak.allowed ? cell(leak.hint.text) : ''} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n') + '\n';
}

/** Under GitHub Actions: annotations on stdout, the summary appended to the step's summary file. */
export async function writeGithub(
  result: RunResult,
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
): Promise<void> {
  write(formatAnnotations(result, env.GITHUB_WORKSPACE ?? process.cwd()));
  if (!env.GITHUB_STEP_SUMMARY) return;
  try {
    // Appended, as every step's summary is: the file is the runner's, never replaced.
    await appendFile(env.GITHUB_STEP_SUMMARY, formatStepSummary(result));
  } catch (error) {
    // The verdict and the other reports stand; only the summary is missing.
    process.stderr.write(
      `prefork-check: warning: could not append the step summary to ${env.GITHUB_STEP_SUMMARY}: ${(error as Error).message}\n`,
    );
  }
}
