// Parser and model throughput, and memory against trace length: replays real
// strace lines (the test corpus; after each round its processes exit, so the
// next round's are new ones) through the parser, the process model and
// attribution, as a check does.
// Usage: node bench/parse.mjs <lines>   → prints "lines linesPerSecond peakRssMB"
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { TracePipeline } = await import(join(root, 'dist/session/pipeline.js'));
const { FdTable } = await import(join(root, 'dist/model/fd-table.js'));
const { OpenFile } = await import(join(root, 'dist/model/open-file.js'));
const { NO_PROC } = await import(join(root, 'dist/proc/proc-view.js'));

const corpus = readFileSync(join(root, 'test/traces/fixtures-mix.txt'), 'latin1').split('\n').filter(Boolean);
const total = Number(process.argv[2] ?? 1_000_000);

const stdio = () => {
  const table = new FdTable();
  for (const fd of [0, 1, 2]) table.set(fd, new OpenFile('file', [], { type: 'inherited', from: 'stdio' }), false);
  return table;
};
const pipeline = new TracePipeline('0'.repeat(32), stdio, [], root, NO_PROC);
const model = pipeline.model;

let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
const started = performance.now();
let done = 0;
for (let round = 0; done < total; round++) {
  for (const line of corpus) {
    if (done++ >= total) break;
    pipeline.apply(line);
  }
  for (const tid of [...model.tasks.keys()]) model.apply({ type: 'exit', pid: tid, code: 0 });
  if (round % 64 === 0) sample();
}
sample();
const seconds = (performance.now() - started) / 1000;
console.log(`${total} ${Math.round(total / seconds)} ${(peak / 1024 / 1024).toFixed(0)}`);
