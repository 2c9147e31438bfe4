import { expect } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { expectTableMatchesKernel, type KernelView } from './kernel-view.js';
import { declaredOrigins, reportedOrigins } from './origins.js';
import { fixture, leakLines } from './run-cli.js';

/** A fixture app, the leaks it must report (`kind target`, `*` for an OS-chosen number), and its exit code. */
export interface FixtureCase {
  name: string;
  file?: string;
  leaks: (scratch: string) => string[];
  exitCode?: number;
}

export const FIXTURE_CASES: FixtureCase[] = [
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
  // select imported anew (eventlet's patcher.original): the copy's epoll still has its line.
  { name: 'reimport', leaks: () => ['epoll anon_inode:[eventpoll]'] },
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
  // Opened by library code in a thread the library started: named at the line that started it.
  { name: 'library-thread', leaks: (s) => [`file ${s}/direct.log`, `file ${s}/nested.log`] },
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
  // require, File#initialize and IO.pipe aliased and redefined after the bootstrap wrapped them,
  // and IO.pipe aliased in a subclass.
  {
    name: 'ruby-aliases',
    file: 'app.rb',
    leaks: (s) => [`file ${s}/app.log`, ...Array<string>(4).fill('pipe pipe:[*]')],
  },
  // Daemonized: the grandchild's eventfds, made anew at each fork, are the VM's own too.
  { name: 'ruby-daemon', file: 'app.rb', leaks: (s) => [`file ${s}/daemon.log`] },
  { name: 'pty', leaks: () => ['device /dev/ptmx', 'device /dev/pts/*'] },
  // A thread's own table after unshare(CLONE_FILES) is not the process's.
  { name: 'unshare', leaks: (s) => [`file ${s}/shared.txt`] },
  // The pidfd a clone with CLONE_PIDFD puts in the parent's table.
  { name: 'pidfd', leaks: () => ['other anon_inode:[pidfd]', 'other anon_inode:[pidfd]'] },
  { name: 'deleted', leaks: (s) => [`file ${s}/#* (deleted)`, `file ${s}/unlinked.bin (deleted)`] },
  // A file that took fd 0 after the app closed stdin is no stdio; /dev/null opened into fd 2 is.
  { name: 'stdio-reused', leaks: (s) => [`file ${s}/data.bin`] },
  // Output through copies of stdout made every way, the marker through two of them: each byte is counted.
  { name: 'stdout-copies', leaks: (s) => [`file ${s}/data.bin`] },
];

/** Whether `actual` leak lines are `expected`, in any order, `*` standing for a number. */
function leaksMatch(actual: string[], expected: string[]): boolean {
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

/**
 * A fixture's run to its READY marker: exactly its leaks and exit code, each leak at the line the
 * fixture marks, and the model's table the kernel's own, as the app recorded it at the marker.
 * `origins` gives the report's origins as this repo names them (a run elsewhere has other paths).
 */
export function expectFixtureRun(
  { name, file, leaks, exitCode = 1 }: FixtureCase,
  run: { report?: Report; exitCode: number; kernel?: KernelView; scratch: string; stderr: string },
  origins: (report: Report) => string[] = reportedOrigins,
): void {
  expect(run.report, run.stderr).toBeDefined();
  const report = run.report!;
  const expected = leaks(run.scratch);
  expect(
    leaksMatch(leakLines(report), expected),
    `leaks ${JSON.stringify(leakLines(report))}, expected ${JSON.stringify(expected)}`,
  ).toBe(true);
  expect(run.exitCode).toBe(exitCode);
  expect(report.forkPoint.reached).toBe(true);
  expect(origins(report)).toEqual(declaredOrigins(fixture(name, file)));
  expect(run.kernel, 'the fixture recorded no kernel view').toBeDefined();
  expect(run.kernel!.pid).toBe(report.forkPoint.pid);
  expectTableMatchesKernel(report.table, run.kernel!);
}
