/** Each fixture app, the leaks it must report (`kind target`, `*` for an OS-chosen number), and its exit code. */
export const FIXTURE_CASES: Array<{
  name: string;
  file?: string;
  leaks: (scratch: string) => string[];
  exitCode?: number;
}> = [
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

/** Whether `actual` leak lines are `expected`, in any order, `*` standing for a number. */
export function leaksMatch(actual: string[], expected: string[]): boolean {
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
