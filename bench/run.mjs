// Runs each benchmark app bare, under `prefork-check` (fast pass first for a
// clean app), and under `prefork-check --deep` (every fd syscall traced, with
// attribution), interleaved so all see the same machine load, and prints the
// medians, their ratios to bare and prefork-check's peak RSS. Then the
// parser's throughput and memory against trace length (bench/parse.mjs).
import { execFileSync, spawnSync } from 'node:child_process';

import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
// Debian's python3: the realistic cases import its Flask, Celery and prometheus_client.
const python = '/usr/bin/python3';
const runs = Number(process.env.BENCH_RUNS ?? 7);

function timed(command, args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, status: result.status };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Peak RSS of a prefork-check run, sampled from /proc while it runs. */
function peakRss(args) {
  const script = `node ${args.map((a) => `'${a}'`).join(' ')} >/dev/null & p=$!; m=0; while kill -0 $p 2>/dev/null; do h=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null); [ -n "$h" ] && m=$h; sleep 0.02; done; echo $m`;
  const kb = Number(execFileSync('bash', ['-c', script]).toString().trim());
  return kb > 0 ? `${(kb / 1024).toFixed(0)} MB` : 'n/a';
}

const cases = [
  ['realistic start (Flask, Celery, prometheus_client; clean)', 'bench/clean_service.py', 0],
  ['import-heavy start (clean)', 'bench/clean_import_heavy.py', 0],
  ['fd-heavy start (3,000 opens; clean)', 'bench/clean_fd_heavy.py', 0],
  ['leaky realistic start (3 leaks, each attributed)', 'bench/leaky_service.py', 1],
];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`${python}, ${cpus().length} × ${cpu}; ${runs} runs each, medians\n`);
console.log('| case | bare | prefork-check | ratio | --deep | ratio | peak RSS |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, file, expected] of cases) {
  const app = join(root, file);
  const bare = [];
  const checked = [];
  const deep = [];
  const check = (extra) => {
    const run = timed('node', [cli, '-q', ...extra, '--fork-marker', 'READY', '--', python, app]);
    if (run.status !== expected) throw new Error(`prefork-check exited ${run.status} on ${file}, expected ${expected}`);
    return run.seconds;
  };
  for (let i = 0; i < runs; i++) {
    bare.push(timed(python, [app]).seconds);
    checked.push(check([]));
    deep.push(check(['--deep']));
  }
  const [b, c, d] = [median(bare), median(checked), median(deep)];
  const rss = peakRss([cli, '-q', '--fork-marker', 'READY', '--', python, app]);
  console.log(`| ${name} | ${b.toFixed(3)} s | ${c.toFixed(3)} s | ${(c / b).toFixed(2)}x | ${d.toFixed(3)} s | ${(d / b).toFixed(2)}x | ${rss} |`);
}

console.log('\n| trace lines | parser + model + attribution | peak RSS |');
console.log('|---|---|---|');
for (const lines of [10_000, 10_000_000]) {
  const [count, perSecond, rss] = execFileSync('node', [join(root, 'bench/parse.mjs'), String(lines)]).toString().trim().split(' ');
  console.log(`| ${Number(count).toLocaleString('en')} | ${Number(perSecond).toLocaleString('en')} lines/s | ${rss} MB |`);
}
