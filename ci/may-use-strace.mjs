// Whether the check may run strace, so the step installs it (a minute of apt-get on a fresh
// runner) only then: the arguments, $PREFORK_CHECK_TRACER or the config ask for it (`--tracer
// strace`, `--native-stacks`, `--strace`), or prefork-check's own tracer cannot run here, as the
// installed prefork-check decides (one too old to say counts as cannot). A config that cannot be
// read counts as asking: the check itself then says what is wrong with it.
// Usage: node may-use-strace.mjs <dist> -- <prefork-check arguments>; exits 0 for yes, 1 for no.
import { existsSync, readFileSync } from 'node:fs';

const [dist, , ...args] = process.argv.slice(2);
// prefork-check's own arguments: not the app's, after a `--`.
const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;

function valueOf(flag) {
  const at = own.findIndex((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (at < 0) return undefined;
  return own[at] === flag ? (own[at + 1] ?? '') : own[at].slice(flag.length + 1);
}

function argumentsAsk() {
  return valueOf('--tracer') === 'strace' || own.includes('--native-stacks') || valueOf('--strace') !== undefined;
}

/** The config as prefork-check finds it: --config, prefork-check.config.json, or package.json's field. */
function config() {
  const given = valueOf('--config');
  if (given !== undefined) return JSON.parse(readFileSync(given, 'utf8'));
  if (existsSync('prefork-check.config.json')) return JSON.parse(readFileSync('prefork-check.config.json', 'utf8'));
  if (existsSync('package.json')) return JSON.parse(readFileSync('package.json', 'utf8'))['prefork-check'];
  return undefined;
}

/** Any settings object in it (the top level, each check) that names strace. */
function configAsks(settings) {
  if (Array.isArray(settings)) return settings.some(configAsks);
  if (settings === null || typeof settings !== 'object') return false;
  if (settings.tracer === 'strace' || settings.nativeStacks === true || settings.strace !== undefined) return true;
  return Object.values(settings).some(configAsks);
}

async function nativeTracerRuns() {
  try {
    const { whyNativeCannotRun } = await import(`${dist}/launch/native-tracer.js`);
    return whyNativeCannotRun() === undefined;
  } catch {
    return false;
  }
}

let asks;
try {
  asks = argumentsAsk() || process.env.PREFORK_CHECK_TRACER === 'strace' || configAsks(config());
} catch {
  asks = true;
}
process.exit(asks || !(await nativeTracerRuns()) ? 0 : 1);
