export { checkFork } from './check/check-fork.js';
export { runChecks, type RunPlan } from './run/run-checks.js';
export { loadConfig, type ConfigFile, type LoadedConfig } from './config/load-config.js';
export type { CheckConfig } from './options/check-fields.js';
export { PreforkCheckError, isPreforkCheckError, type ErrorCode } from './errors.js';
export type { CheckOptions, TracerChoice } from './options/options.js';
export type { ForkPointSpec } from './fork-point/spec.js';
export type { AllowRule } from './rules/allow-rule.js';
export type {
  FdRecord,
  ForkPointReport,
  Hint,
  Leak,
  Origin,
  Report,
  RunResult,
  StackFrame,
  Status,
} from './report/types.js';
export type { Creator, FdKind, SocketState } from './model/open-file.js';
export { formatConsole, formatReport, type ConsoleOptions } from './reporters/console.js';
export { formatJunit } from './reporters/junit.js';
export { writeJsonReport, writeJunitReport } from './reporters/file-reports.js';
