// Whether the check may run strace, so the step installs it only then. The installed
// prefork-check decides, with its own code: the command line as it parses it, the config as it
// finds it, the tracer each check resolves to (`--tracer`, `--native-stacks`, `--strace`,
// $PREFORK_CHECK_TRACER), and for `auto`, whether its own tracer can run here. A prefork-check
// too old to say, or arguments or a config it refuses, count as yes: the check then says what
// is wrong.
// Usage: node may-use-strace.mjs <dist> -- <prefork-check arguments>; exits 0 for yes, 1 for no.
const [dist, , ...args] = process.argv.slice(2);

async function mayUseStrace() {
  const [{ parseCli }, { loadConfig }, { tracerFor }, { whyNativeCannotRun }] = await Promise.all(
    ['cli/args.js', 'config/load-config.js', 'options/options.js', 'launch/native-tracer.js'].map(
      (module) => import(`${dist}/${module}`),
    ),
  );
  const request = parseCli(args);
  const config = loadConfig(process.cwd(), request.config);
  const checks = request.app === undefined ? config.checks : [config.defaults];
  // The command line's flags override every check's, as a run applies them.
  const tracers = checks.map((check) => tracerFor({ ...check, ...request.overrides }));
  return tracers.includes('strace') || (tracers.includes('auto') && whyNativeCannotRun() !== undefined);
}

let yes;
try {
  yes = await mayUseStrace();
} catch {
  yes = true;
}
process.exit(yes ? 0 : 1);
