import { version } from '../version.js';
import { applyAllowRules } from './allow.js';
import type { FdRecord, ForkPointReport, Report } from './types.js';

const STDIO = 2;

export interface ReportInput {
  command: string[];
  forkPoint: ForkPointReport;
  table: FdRecord[];
  allow: string[];
  error?: { code: string; message: string };
  startedAt: number;
}

/** Decides the verdict: every fd beyond stdio is a leak unless a rule allows it. */
export function buildReport(input: ReportInput): Report {
  const leaks = applyAllowRules(
    input.table.filter((record) => record.fd > STDIO),
    input.allow,
  );
  const failing = leaks.some((leak) => !leak.allowed);
  const status = input.error ? 'error' : failing ? 'fail' : 'pass';
  return {
    status,
    exitCode: status === 'error' ? 2 : status === 'fail' ? 1 : 0,
    command: input.command,
    forkPoint: input.forkPoint,
    leaks,
    table: input.table,
    ...(input.error ? { error: input.error } : {}),
    durationMs: Date.now() - input.startedAt,
    tool: { name: 'prefork-check', version },
  };
}
