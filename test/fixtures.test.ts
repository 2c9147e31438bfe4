import { describe, expect, test } from 'vitest';
import { expectTableMatchesKernel } from './helpers/kernel-view.js';
import { FIXTURE_CASES, expectFixtureRun } from './helpers/fixture-cases.js';
import { fixture, leakLines, runCli } from './helpers/run-cli.js';

describe('fixture apps, traced to the READY marker by the real CLI', () => {
  test.concurrent.each(FIXTURE_CASES)('$name', async (fixtureCase) => {
    expectFixtureRun(
      fixtureCase,
      await runCli(['--entry', fixture(fixtureCase.name, fixtureCase.file), '--fork-marker', 'READY']),
    );
  });
});

describe('fds from the rarer calls that make them', () => {
  test('mq_open, bpf, fsopen, open_tree, a landlock ruleset and namespaces are in the table; landlock’s ABI version is no fd', async () => {
    const run = await runCli(['--entry', fixture('kernel-objects'), '--fork-marker', 'READY']);
    expect(run.kernel, run.stderr).toBeDefined();
    expectTableMatchesKernel(run.report!.table, run.kernel!);
    // What this kernel allowed differs (privileges, landlock built in); mq_open and open_tree need neither.
    expect(run.report!.leaks.map((leak) => leak.kind)).toEqual(expect.arrayContaining(['file', 'directory']));
    expect(run.report!.leaks.map((leak) => leak.target)).toContainEqual(expect.stringMatching(/^net:\[\d+\]$/));
    expect(run.report!.leaks).toHaveLength([...run.kernel!.fds.keys()].filter((fd) => fd > 2).length);
  });
});

describe('fds the trace cannot see being made', () => {
  test('a number a closed file had, taken unseen by a fanotify event for another file (same mode, close-on-exec): the kernel’s file is reported, never the closed one', async (context) => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('fanotify-reuse')]);
    if (run.report?.error?.message.includes('status 77')) context.skip();
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/watched.txt`, 'other anon_inode:[fanotify]']);
    expect(run.report!.leaks.find((leak) => leak.kind === 'file')).toMatchObject({
      unaccounted: true,
      createdBy: { type: 'unknown' },
    });
    expect(run.stdout).not.toContain('closed.txt');
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  test('one a fanotify event put into the table is reported from the kernel’s own table, and the verdict says the table may be incomplete', async (context) => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('fanotify')]);
    // fanotify needs CAP_SYS_ADMIN: the app exits 77 where it has none.
    if (run.report?.error?.message.includes('status 77')) context.skip();
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/watched.txt`, 'other anon_inode:[fanotify]']);
    const unseen = run.report!.leaks.find((leak) => leak.kind === 'file')!;
    expect(unseen).toMatchObject({ unaccounted: true, createdBy: { type: 'unknown' } });
    if (run.report!.tool.tracer === 'native') {
      // prefork-check's tracer read the kernel's table at the marker's write: complete.
      expect(run.report!.forkPoint.incomplete).toBeUndefined();
      expect(run.report!.forkPoint.notes).toContainEqual(
        expect.stringMatching(
          /uses fanotify .*; the table is the kernel's own, read at the fork point: fd \d+ is made/,
        ),
      );
    } else {
      // strace: read from the live process a moment after the fork point, and said to be maybe incomplete.
      expect(run.report!.forkPoint.incomplete).toMatch(/uses fanotify/);
      expect(run.stdout).toMatch(/^FAIL .*; the table may be incomplete \(pid \d+ uses fanotify/m);
    }
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  test('an fd the kernel puts in the table right after the fork point is not in it, with the native tracer', async (context) => {
    const run = await runCli([
      '--tracer',
      'native',
      '--fork-marker',
      'READY',
      '--',
      'python3',
      fixture('fanotify'),
      'after',
    ]);
    if (run.report?.error?.message.includes('status 77')) context.skip();
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    // The second event's fd comes as the marker is read: the table is the one at the marker's write.
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/watched.txt`, 'other anon_inode:[fanotify]']);
    expect(run.report!.forkPoint.incomplete).toBeUndefined();
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });
});
