import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { firstForkDetector } from '../../src/fork-point/first-fork.js';
import { markerDetector } from '../../src/fork-point/marker.js';
import { AppOutput } from '../../src/launch/app-output.js';
import { FdTable } from '../../src/model/fd-table.js';
import { OpenFile } from '../../src/model/open-file.js';
import type { ProcessModel } from '../../src/model/process-model.js';
import type { ProcessEvent } from '../../src/trace/events.js';
import { TraceParser } from '../../src/trace/parser.js';
import { NO_PROC } from '../../src/proc/proc-view.js';
import { TracePipeline } from '../../src/session/pipeline.js';
import { ROOT } from '../helpers/run-cli.js';

// Real strace 6.1 output from the fixture apps (-f -y -yy), as the material to cut, mix and spoil.
const corpus = ['fixtures-mix.txt', 'python-vfork-subprocess.txt'].flatMap((name) =>
  readFileSync(join(ROOT, 'test/traces', name), 'latin1')
    .split('\n')
    .filter(Boolean),
);

function stdio(): FdTable {
  const table = new FdTable();
  for (const fd of [0, 1, 2]) table.set(fd, new OpenFile('file', [], { type: 'inherited', from: 'stdio' }), false);
  return table;
}

/** Everything a check does with trace lines: the check's own pipeline, and the fork-point detectors. */
function runPipeline(lines: string[]): ProcessModel {
  // The app's streams, already ended: the marker never waits for bytes here.
  const output = new AppOutput('READY');
  output.streams[1].end();
  output.streams[2].end();
  const marker = markerDetector('READY', output);
  const firstFork = firstForkDetector();
  const pipeline = new TracePipeline(
    '0'.repeat(32),
    stdio,
    [marker.listener ?? {}, firstFork.listener ?? {}],
    ROOT,
    NO_PROC,
  );
  for (const line of lines) {
    const applied = pipeline.apply(line);
    if (!applied) continue;
    marker.observe(applied.event, applied.task, pipeline.model);
    firstFork.observe(applied.event, applied.task, pipeline.model);
  }
  for (const task of pipeline.model.liveProcesses()) pipeline.describe(task.table, 0);
  return pipeline.model;
}

const realLine = fc.constantFrom(...corpus);
/** A real line cut short anywhere, as a killed strace or a full pipe leaves it. */
const truncatedLine = fc.tuple(realLine, fc.nat()).map(([line, at]) => line.slice(0, at % (line.length + 1)));
/** A real line with random bytes dropped in. */
const spoiledLine = fc
  .tuple(realLine, fc.nat(), fc.string({ unit: 'binary-ascii', maxLength: 6 }))
  .map(([line, at, junk]) => {
    const cut = at % (line.length + 1);
    return line.slice(0, cut) + junk + line.slice(cut);
  });
/** A real line moved to another pid: lines of unknown processes interleave with known ones. */
const movedLine = fc
  .tuple(realLine, fc.integer({ min: 1, max: 99_999 }))
  .map(([line, pid]) => line.replace(/^\d+/, String(pid)));
const anyLine = fc.oneof(
  realLine,
  truncatedLine,
  spoiledLine,
  movedLine,
  fc.string({ unit: 'binary', maxLength: 200 }),
);

describe('the parser and model on random, truncated, interleaved and garbage strace lines', () => {
  test('never throw, whatever the lines', () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 300 }), (lines) => {
        runPipeline(lines);
      }),
      { numRuns: 300 },
    );
  });

  test('any part of the real trace, in any order, then garbage, never throws', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(corpus, { minLength: 1 }),
        fc.array(fc.string({ unit: 'binary-ascii' }), { maxLength: 50 }),
        (lines, junk) => {
          runPipeline([...lines, ...junk]);
        },
      ),
      { numRuns: 50 },
    );
  });

  test('an unknown syscall changes nothing; an fd met there that the model never saw made is reported as unaccounted, not guessed', () => {
    const knownNames = new Set(corpus.map((line) => /^\d+ +(\w+)\(/.exec(line)?.[1]));
    const unknownName = fc
      .stringMatching(/^[a-z][a-z0-9_]{2,15}$/)
      .filter(
        (name) => !knownNames.has(name) && !['write', 'writev', 'pwrite64', 'close', 'exit_group'].includes(name),
      );
    fc.assert(
      fc.property(unknownName, fc.integer({ min: 3, max: 4000 }), fc.boolean(), (name, fd, annotated) => {
        const model = runPipeline(['100 openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3</etc/hosts>']);
        const before = [...model.root!.table.slots.entries()].map(([number, slot]) => [number, slot.file]);
        const arg = annotated ? `${fd}</srv/data.bin>` : String(fd);
        model.apply(new TraceParser().parse(`100 ${name}(${arg}, 0x1) = 0`) as ProcessEvent);
        const after = model.root!.table;
        for (const [number, file] of before) expect(after.get(number as number)?.file).toBe(file);
        if (fd === 3 || !annotated) {
          expect(after.slots.size).toBe(before.length);
        } else {
          const met = after.get(fd)!.file;
          expect(met.unaccounted).toBe(true);
          expect(met.createdBy).toEqual({ type: 'unknown' });
          expect(met.path).toBe('/srv/data.bin');
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a long trace is parsed in linear time (no hang on pathological lines)', () => {
    const nasty = [
      `1 openat(AT_FDCWD, "${'\\\\'.repeat(5000)}`,
      `1 write(1, "${'"'.repeat(5000)}`,
      `1 ${'<'.repeat(5000)}`,
      `1 <... ${'('.repeat(5000)}`,
    ];
    const lines = Array.from({ length: 20_000 }, (_, i) =>
      i % 10 === 0 ? nasty[i % nasty.length]! : corpus[i % corpus.length]!,
    );
    const started = performance.now();
    runPipeline(lines);
    // Generous: what matters is that it ends; a quadratic scan of these lines would take minutes.
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
