import { describe, expect, test } from 'vitest';
import { expectTableMatchesKernel } from './helpers/kernel-view.js';
import { declaredOrigins, reportedOrigins } from './helpers/origins.js';
import { fixture, leakLines, runCli } from './helpers/run-cli.js';

/** Each fixture app, the leaks it must report (`kind target`, `*` for an OS-chosen number), and its exit code. */
const cases: Array<{ name: string; file?: string; leaks: (scratch: string) => string[]; exitCode?: number }> = [
  { name: 'clean', leaks: () => [], exitCode: 0 },
  { name: 'leaky', leaks: (s) => [`file ${s}/app.log`] },
  {
    name: 'tcp',
    leaks: () => [
      'socket tcp 127.0.0.1:*',
      'socket tcp 127.0.0.1:* -> 127.0.0.1:*',
      'socket tcp 127.0.0.1:* -> 127.0.0.1:*',
    ],
  },
  { name: 'udp', leaks: () => ['socket udp 127.0.0.1:*', 'socket udp 127.0.0.1:* -> 127.0.0.1:*'] },
  // Closed right after the marker: the addresses come from the trace's next word on them, never `?`.
  { name: 'udp-closed', leaks: () => ['socket udp 127.0.0.1:*', 'socket udp 127.0.0.1:* -> 127.0.0.1:*'] },
  {
    name: 'unix',
    leaks: (s) => [
      `socket unix ${s}/app.sock`,
      `socket unix ${s}/log.sock`,
      `socket unix -> ${s}/app.sock`,
      `socket unix -> ${s}/log.sock`,
    ],
  },
  { name: 'pipe', leaks: () => ['pipe pipe:[*]', 'pipe pipe:[*]'] },
  { name: 'socketpair', leaks: () => ['socket unix socketpair', 'socket unix socketpair'] },
  { name: 'popen', leaks: () => ['pipe pipe:[*]', 'pipe pipe:[*]'] },
  {
    name: 'anon',
    leaks: (s) => [
      'epoll anon_inode:[eventpoll]',
      'eventfd anon_inode:[eventfd]',
      'memfd /memfd:cache',
      `directory ${s}`,
    ],
  },
  { name: 'ctypes', leaks: (s) => Array(4).fill(`file ${s}/native.dat`) },
  { name: 'sqlite', leaks: (s) => [`file ${s}/app.db`, `file ${s}/app.db-wal`, `file ${s}/app.db-shm`] },
  { name: 'thread', leaks: (s) => [`file ${s}/cache.bin`] },
  { name: 'dup2', leaks: (s) => [`file ${s}/second.txt`, `file ${s}/second.txt`] },
  { name: 'execv', leaks: (s) => [`file ${s}/kept.txt`] },
  { name: 'atexit-socket', leaks: () => ['socket tcp 127.0.0.1:*', 'socket tcp 127.0.0.1:* -> 127.0.0.1:*'] },
  { name: 'log-twice', leaks: (s) => [`file ${s}/app.log`, `file ${s}/app.log`] },
  { name: 'odd-path', leaks: (s) => [`file ${s}/odd name\nwith \\xff byte`] },
  { name: 'split-marker', leaks: (s) => [`file ${s}/data.bin`] },
  { name: 'stderr-marker', leaks: (s) => [`file ${s}/state.json`] },
  { name: 'thread-pool', leaks: (s) => [`file ${s}/index.bin`] },
  {
    name: 'tls',
    leaks: () => [
      'socket tcp 127.0.0.1:*',
      'socket tcp 127.0.0.1:* -> 127.0.0.1:*',
      'socket tcp 127.0.0.1:* -> 127.0.0.1:*',
    ],
  },
  { name: 'fork-child', leaks: (s) => [`file ${s}/spool.txt`] },
  { name: 'signals', leaks: (s) => [`file ${s}/state.txt`, 'pipe pipe:[*]', 'pipe pipe:[*]'] },
  {
    name: 'dup',
    leaks: (s) => [
      `file ${s}/mapped.bin`,
      `file ${s}/mapped.bin`,
      `file ${s}/closed.bin`,
      `file ${s}/app.log`,
      `file ${s}/app.log`,
      `file ${s}/app.log`,
      `file ${s}/app.log`,
      'socket tcp 127.0.0.1:*',
      'socket tcp 127.0.0.1:*',
      'socket tcp 127.0.0.1:*',
    ],
  },
  {
    name: 'received',
    leaks: (s) => [
      'socket unix socketpair',
      'socket unix socketpair',
      `file ${s}/passed.txt`,
      `file ${s}/generated.txt`,
    ],
  },
  {
    name: 'shared-memory',
    leaks: () => [
      'file /dev/shm/prefork_check_* (deleted)',
      'file /dev/shm/prefork_check_* (deleted)',
      'pipe pipe:[*]',
    ],
  },
  // Ruby: the VM's own eventfds are allowed; the app's file, pipe, listener and directory named at their lines.
  {
    name: 'ruby',
    file: 'app.rb',
    leaks: (s) => [`file ${s}/app.log`, 'pipe pipe:[*]', 'pipe pipe:[*]', 'socket tcp 127.0.0.1:*', `directory ${s}`],
  },
  // Daemonized: the grandchild's eventfds, made anew at each fork, are the VM's own too.
  { name: 'ruby-daemon', file: 'app.rb', leaks: (s) => [`file ${s}/daemon.log`] },
  { name: 'pty', leaks: () => ['device /dev/ptmx', 'device /dev/pts/*'] },
  // A thread's own table after unshare(CLONE_FILES) is not the process's.
  { name: 'unshare', leaks: (s) => [`file ${s}/shared.txt`] },
  // The pidfd a clone with CLONE_PIDFD puts in the parent's table.
  { name: 'pidfd', leaks: () => ['other anon_inode:[pidfd]', 'other anon_inode:[pidfd]'] },
  { name: 'deleted', leaks: (s) => [`file ${s}/#* (deleted)`, `file ${s}/unlinked.bin (deleted)`] },
  // Output through copies of stdout made every way, the marker through two of them: each byte is counted.
  { name: 'stdout-copies', leaks: (s) => [`file ${s}/data.bin`] },
];

function matches(actual: string[], expected: string[]): boolean {
  if (actual.length !== expected.length) return false;
  const patterns = expected.map(
    (line) => new RegExp(`^${line.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '\\d+')}$`),
  );
  const remaining = [...actual];
  return patterns.every((pattern) => {
    const at = remaining.findIndex((line) => pattern.test(line));
    if (at < 0) return false;
    remaining.splice(at, 1);
    return true;
  });
}

describe('fixture apps, traced to the READY marker by the real CLI', () => {
  test.concurrent.each(cases)('$name', async ({ name, file, leaks, exitCode = 1 }) => {
    const run = await runCli(['--entry', fixture(name, file), '--fork-marker', 'READY']);
    expect(run.report, run.stderr).toBeDefined();
    const report = run.report!;
    const expected = leaks(run.scratch);
    expect(
      matches(leakLines(report), expected),
      `leaks ${JSON.stringify(leakLines(report))}, expected ${JSON.stringify(expected)}`,
    ).toBe(true);
    expect(run.exitCode).toBe(exitCode);
    expect(report.forkPoint.reached).toBe(true);
    // Each leak names the app line that made it, as the fixture marks it.
    expect(reportedOrigins(report)).toEqual(declaredOrigins(fixture(name, file)));
    // The kernel's own table, recorded by the app at the marker, is the oracle.
    expect(run.kernel, 'the fixture recorded no kernel view').toBeDefined();
    expect(run.kernel!.pid).toBe(report.forkPoint.pid);
    expectTableMatchesKernel(report.table, run.kernel!);
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
