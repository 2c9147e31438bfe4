// Runs each benchmark app bare, under `prefork-check`, and under `prefork-check
// --no-attribution` side by side, several times, and prints the median times,
// their ratios to bare, and prefork-check's peak RSS.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
const runs = Number(process.env.BENCH_RUNS ?? 7);

function timed(command, args) {
  // GNU time is not everywhere: measure wall time here and peak RSS from rusage of the children.
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, status: result.status };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function peakRss(args) {
  const out = spawnSync('/usr/bin/env', ['bash', '-c', `command -v /usr/bin/time >/dev/null && /usr/bin/time -f %M node ${args.map((a) => `'${a}'`).join(' ')} 2>&1 >/dev/null | tail -1`]);
  const kb = Number(out.stdout.toString().trim());
  return Number.isFinite(kb) && kb > 0 ? `${(kb / 1024).toFixed(0)} MB` : 'n/a';
}

const cases = [
  ['import-heavy start', join(root, 'bench/clean_import_heavy.py')],
  ['fd-heavy start (3,000 opens)', join(root, 'bench/clean_fd_heavy.py')],
];

console.log(`python: ${python}; ${runs} runs each, medians\n`);
console.log('| case | bare | prefork-check | ratio | --no-attribution | ratio | peak RSS (checker) |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, app] of cases) {
  const bare = [];
  const traced = [];
  const plain = [];
  const check = (extra) => {
    const run = timed('node', [cli, '-q', ...extra, '--fork-marker', 'READY', '--', python, app]);
    if (run.status !== 0) throw new Error(`prefork-check exited ${run.status} on ${app}`);
    return run.seconds;
  };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so all three see the same machine load.
    bare.push(timed(python, [app]).seconds);
    traced.push(check([]));
    plain.push(check(['--no-attribution']));
  }
  const b = median(bare);
  const t = median(traced);
  const p = median(plain);
  const rss = peakRss([cli, '-q', '--fork-marker', 'READY', '--', python, app]);
  console.log(`| ${name} | ${b.toFixed(3)} s | ${t.toFixed(3)} s | ${(t / b).toFixed(2)}x | ${p.toFixed(3)} s | ${(p / b).toFixed(2)}x | ${rss} |`);
}
