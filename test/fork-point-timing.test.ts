import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkFork } from '../src/check/check-fork.js';
import type { Report } from '../src/report/types.js';
import { expectTableMatchesKernel, readKernelViewFile } from './helpers/kernel-view.js';
import { ROOT, fixture, scratch } from './helpers/run-cli.js';

const RUNS = 20;
// The system's interpreter, not a version manager's shim (a bash script that forks on every start).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** One check of `fixtures/timing/app.py <scenario>`, with the kernel's view that the writer recorded at its marker. */
async function checkScenario(scenario: string) {
  const dir = scratch();
  const kernelView = join(dir, 'kernel-view.json');
  const report = await checkFork({
    command: [PYTHON, fixture('timing'), scenario],
    forkMarker: 'READY',
    cwd: ROOT,
    appOutput: 'ignore',
    env: { FIXTURE_SCRATCH: dir, PREFORK_CHECK_KERNEL_VIEW: kernelView },
  });
  return { report, kernel: readKernelViewFile(kernelView), dir };
}

function expectExact(report: Report, kernel: ReturnType<typeof readKernelViewFile>, dir: string): void {
  expect(report.status, report.error?.message).toBe('fail');
  expect(report.forkPoint.pid).toBe(kernel.pid);
  expectTableMatchesKernel(report.table, kernel);
  const log = report.leaks.find((leak) => leak.target === `${dir}/app.log`);
  expect(log?.origin).toMatchObject({ file: 'fixtures/timing/app.py', line: 13 });
}

// The app changes its table the moment after its marker: the report must still be the
// kernel's table at the marker's write, in every run, not most of them.
describe(`the table at the marker is exact in every timing (${RUNS} runs each)`, () => {
  test.concurrent.each([
    'close-after',
    'exit-after',
    'fork-then-close',
    'long-write',
    'sendfile',
    'splice',
    'split-over-processes',
  ])(
    '%s',
    async (scenario) => {
      for (let run = 0; run < RUNS; run++) {
        const { report, kernel, dir } = await checkScenario(scenario);
        expectExact(report, kernel, dir);
      }
    },
    240_000,
  );

  test('a marker copied by cat from a file: the writer is cat, holding the file it copies', async () => {
    for (let run = 0; run < RUNS; run++) {
      const dir = scratch();
      const source = join(dir, 'marker.txt');
      const report = await checkFork({
        command: [
          'bash',
          '-c',
          `printf 'READY\\n' > '${source}'; exec 9>'${dir}/app.log'; cat '${source}'; exec 9>&-; sleep 60`,
        ],
        forkMarker: 'READY',
        appOutput: 'ignore',
        cwd: dir,
      });
      expect(report.forkPoint.program).toMatch(/cat$/);
      expect(report.table.filter((record) => record.fd > 2).map((record) => `${record.fd} ${record.target}`)).toEqual([
        `3 ${source}`,
        `9 ${dir}/app.log`,
      ]);
    }
  }, 240_000);
});
