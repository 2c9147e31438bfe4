export { checkFork } from './check-fork.js';
export { PreforkCheckError, isPreforkCheckError, type ErrorCode } from './errors.js';
export type { CheckOptions, ForkPointSpec } from './options.js';
export type { FdRecord, ForkPointReport, Leak, Origin, Report, Status } from './report/types.js';
export type { Creator, FdKind, SocketState } from './model/open-file.js';
export { formatConsole, type ConsoleOptions } from './reporters/console.js';
export { writeJsonReport } from './reporters/json.js';
