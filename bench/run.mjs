// The benchmark: each app bare, under prefork-check, and under its tracer alone with the
// check's own arguments (the tracer's share of the cost), with strace and with the native
// tracer, all interleaved so all see the same machine load; medians, and ratios to bare. Then where a check's time
// goes, phase by phase (PREFORK_CHECK_PHASES=1), and the parser's throughput and
// memory against trace length (bench/parse.mjs). Every row checks that the app
// started exactly once per check.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const { straceArguments } = await import(join(root, 'dist/session/strace-command.js'));
const { pinning } = await import(join(root, 'dist/launch/one-cpu.js'));
const { nativeTracerPath } = await import(join(root, 'dist/launch/native-tracer.js'));
const TRACERS = { strace: 'strace', native: nativeTracerPath() };
// The API as a test suite calls it: Node is already running, so its start is not paid.
const { checkFork } = await import(join(root, 'dist/index.js'));
// Debian's python3: the realistic cases import its Flask, Celery and prometheus_client.
const python = '/usr/bin/python3';
const runs = Number(process.env.BENCH_RUNS ?? 7);
const scratch = mkdtempSync(join(tmpdir(), 'prefork-check-bench-'));

function timed(command, args, env = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd: join(root, 'bench'),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  return {
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    status: result.status,
    stderr: result.stderr.toString(),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Peak RSS of a prefork-check run, sampled from /proc while it runs. */
function peakRss(args) {
  const script = `cd bench; node ${args.map((a) => `'${a}'`).join(' ')} >/dev/null 2>&1 & p=$!; m=0; while kill -0 $p 2>/dev/null; do h=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$h" ] && m=$h; sleep 0.02; done; echo $m`;
  const kb = Number(execFileSync('bash', ['-c', script], { cwd: root }).toString().trim());
  return kb > 0 ? `${(kb / 1024).toFixed(0)} MB` : 'n/a';
}

const marker = ['--fork-marker', 'READY'];
const cases = [
  {
    name: 'realistic start (Flask, Celery, prometheus_client), clean, marker',
    app: 'clean_service.py',
    flags: marker,
    exit: 0,
    phases: true,
  },
  {
    name: 'realistic start, clean, marker, --no-attribution',
    app: 'clean_service.py',
    flags: [...marker, '--no-attribution'],
    exit: 0,
  },
  // strace -k unwinds every traced syscall (several ms each here): a small app, not the realistic start.
  { name: 'small sqlite3 start, 1 leak, marker', app: 'native_sqlite.py', flags: marker, exit: 1 },
  {
    name: 'small sqlite3 start, 1 leak, marker, --native-stacks',
    app: 'native_sqlite.py',
    flags: [...marker, '--native-stacks'],
    exit: 1,
  },
  { name: 'realistic start, 3 leaks, each attributed, marker', app: 'leaky_service.py', flags: marker, exit: 1 },
  {
    name: 'realistic start + one worker fork, --fork-at-first-fork',
    app: 'forking_service.py',
    flags: ['--fork-at-first-fork'],
    exit: 0,
  },
  {
    name: 'realistic start + one worker fork whose hook closes a leak, followed to its wait',
    app: 'worker_hook_service.py',
    flags: ['--fork-at-first-fork'],
    exit: 0,
  },
  { name: 'import-heavy stdlib start, clean, marker', app: 'clean_import_heavy.py', flags: marker, exit: 0 },
  { name: 'fd-heavy start (3,000 open/write/close), clean, marker', app: 'clean_fd_heavy.py', flags: marker, exit: 0 },
];

function forkPointOf(flags) {
  if (flags.includes('--fork-at-first-fork')) return { mode: 'first-fork' };
  return { mode: 'marker', marker: 'READY' };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`${python}, ${cpus().length} × ${cpu}; ${runs} runs each, medians\n`);
console.log(
  '| case | tracer | bare | prefork-check | ratio | checkFork() in a running Node | ratio | tracer alone | ratio | starts | peak RSS |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const phaseRuns = [];
for (const [row, { name, app, flags, exit, phases }] of cases.entries()) {
  const command = [python, app];
  // strace -k has no native counterpart: that row is strace's only.
  const tracers = flags.includes('--native-stacks') ? ['strace'] : ['strace', 'native'];
  const check = (tracer, env = {}) => {
    const run = timed('node', [cli, '-q', '--tracer', tracer, ...flags, '--', ...command], env);
    if (run.status !== exit)
      throw new Error(
        `prefork-check --tracer ${tracer} exited ${run.status} on ${app}, expected ${exit}:\n${run.stderr}`,
      );
    return run;
  };
  // One start per check, counted by the app itself.
  const starts = join(scratch, `${row}.starts`);
  for (const tracer of tracers) check(tracer, { BENCH_STARTS: starts });
  const started = readFileSync(starts, 'utf8').split('\n').filter(Boolean).length / tracers.length;
  if (started !== 1) throw new Error(`${app} started ${started} times in one check`);

  // Each tracer as the check runs it (on one CPU), without the bootstrap or anything of ours.
  const alone = (tracer) => {
    const pinned = pinning(tracer === 'native', root);
    return [
      ...pinned.prefix,
      TRACERS[tracer],
      ...pinned.tracerArgs,
      ...straceArguments(
        {
          forkPoint: forkPointOf(flags),
          attribution: false,
          nativeStacks: flags.includes('--native-stacks'),
          kernelTables: tracer === 'native',
        },
        '/dev/null',
        command,
      ),
    ];
  };
  const bare = [];
  const times = Object.fromEntries(tracers.map((tracer) => [tracer, { checked: [], alone: [], api: [] }]));
  const apiOptions = {
    command,
    cwd: join(root, 'bench'),
    appOutput: 'ignore',
    attribution: !flags.includes('--no-attribution'),
    nativeStacks: flags.includes('--native-stacks'),
    ...(flags.includes('--fork-at-first-fork') ? { forkAtFirstFork: true } : { forkMarker: 'READY' }),
  };
  for (let i = 0; i < runs; i++) {
    bare.push(timed(python, [app]).seconds);
    for (const tracer of tracers) {
      const run = check(tracer, phases && tracer === 'strace' ? { PREFORK_CHECK_PHASES: '1' } : {});
      times[tracer].checked.push(run.seconds);
      if (phases && tracer === 'strace') phaseRuns.push(run.stderr);
      const [tracerCommand, ...tracerArgs] = alone(tracer);
      times[tracer].alone.push(timed(tracerCommand, tracerArgs).seconds);
      const start = process.hrtime.bigint();
      const report = await checkFork({ ...apiOptions, tracer });
      times[tracer].api.push(Number(process.hrtime.bigint() - start) / 1e9);
      if ((report.status === 'pass') !== (exit === 0))
        throw new Error(`checkFork() with ${tracer} said ${report.status} on ${app}, expected exit ${exit}`);
    }
  }
  const b = median(bare);
  for (const tracer of tracers) {
    const [c, t, a] = [median(times[tracer].checked), median(times[tracer].alone), median(times[tracer].api)];
    const rss = peakRss([cli, '-q', '--tracer', tracer, ...flags, '--', ...command]);
    console.log(
      `| ${tracer === 'strace' ? name : ''} | ${tracer} | ${b.toFixed(3)} s | ${c.toFixed(3)} s | ${(c / b).toFixed(2)}x | ${a.toFixed(3)} s | ${(a / b).toFixed(2)}x | ${t.toFixed(3)} s | ${(t / b).toFixed(2)}x | ${started} | ${rss} |`,
    );
  }
}

// Where the time of the first row's checks went: each phase's end (ms since Node started), medians.
const nodeStart = median(Array.from({ length: runs }, () => timed('node', ['-e', '0']).seconds * 1000));
const marks = phaseRuns.map((stderr) =>
  Object.fromEntries([...stderr.matchAll(/(\w[\w-]*)=([\d.]+)/g)].map(([, k, v]) => [k, Number(v)])),
);
const words = {
  loaded: 'Node start and our modules loaded',
  preflight: 'options, config, entry and strace found',
  fifos: 'trace and output fifos made',
  spawned: 'strace started',
  traced: 'first trace line read',
  'fork-point': 'app traced to its fork point (parse, model, attribution as it runs)',
  described: 'table described and report built',
  stopped: 'process tree killed, strace gone',
  reported: 'console report written',
};
console.log(`\nWhere the time goes (first row; \`node -e 0\` alone takes ${nodeStart.toFixed(0)} ms here):\n`);
console.log('| phase | ends at | takes |');
console.log('|---|---|---|');
let previous = 0;
for (const [key, label] of Object.entries(words)) {
  const at = median(marks.map((mark) => mark[key]).filter((value) => value !== undefined));
  if (at === undefined) continue;
  console.log(`| ${label} | ${at.toFixed(0)} ms | ${(at - previous).toFixed(0)} ms |`);
  previous = at;
}

console.log('\n| trace lines | parser + model + attribution | peak RSS |');
console.log('|---|---|---|');
for (const lines of [10_000, 10_000_000]) {
  const [count, perSecond, rss] = execFileSync('node', [join(root, 'bench/parse.mjs'), String(lines)])
    .toString()
    .trim()
    .split(' ');
  console.log(
    `| ${Number(count).toLocaleString('en')} | ${Number(perSecond).toLocaleString('en')} lines/s | ${rss} MB |`,
  );
}
rmSync(scratch, { recursive: true, force: true });
