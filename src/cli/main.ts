import { checkFork } from '../check-fork.js';
import { isPreforkCheckError } from '../errors.js';
import { formatConsole } from '../reporters/console.js';
import { writeJsonReport } from '../reporters/json.js';
import { assertWritable } from '../reporters/write-atomic.js';
import { version } from '../version.js';
import { parseCli } from './args.js';
import { HELP } from './help.js';

const EXIT_ERROR = 2;
const EXIT_INTERRUPTED = 130;

function useColor(): boolean {
  return process.stdout.isTTY === true && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/** parse → check → report → exit code. Errors of ours are one line on stderr, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const request = parseCli(argv);
    if (request.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (request.version) {
      process.stdout.write(`${version}\n`);
      return 0;
    }
    if (request.json !== undefined) assertWritable(request.json);
    const report = await checkFork({ ...request.check, signal: controller.signal });
    process.stdout.write(formatConsole(report, { color: useColor(), quiet: request.quiet }));
    if (request.json !== undefined) await writeJsonReport(report, request.json);
    return report.error?.code === 'INTERRUPTED' ? EXIT_INTERRUPTED : report.exitCode;
  } catch (error) {
    if (isPreforkCheckError(error)) {
      process.stderr.write(`prefork-check: ${error.message}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`prefork-check: internal error: ${(error as Error)?.stack ?? String(error)}\nPlease report this with the command you ran.\n`);
    return EXIT_ERROR;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
