import type { JsonReport } from '../../src/reporters/json.js';

/**
 * What a verdict says of each leak, with the numbers the OS picks (ports, inodes, pids, and fd
 * numbers, which threads racing for the lowest free one take in any order) and the run's scratch
 * dir left out. Each run's fd numbers are proven against the kernel by the fixture tests, which CI
 * runs with each tracer.
 */
export function verdict(report: JsonReport, dir: string): string[] {
  return report.leaks
    .map((leak) =>
      [
        leak.allowed ? 'allowed' : 'leak',
        leak.kind,
        leak.target
          .replaceAll(dir, 'S')
          .replace(/prefork-check-\w+/, 'prefork-check-*') // the run's own fifos (copies of stdout)
          .replace(/\d+/g, '*'),
        leak.flags.join('|'),
        leak.cloexec,
        leak.origin ? `${leak.origin.file.replaceAll(dir, 'S')}:${leak.origin.line}` : '-',
      ].join(' '),
    )
    .sort();
}

/**
 * Fixture apps whose verdicts both tracers must give fd for fd: between them they reach each way a
 * table changes (sockets of every family and their addresses, pipes, dups, threads, subprocesses,
 * fds passed over a socket, a pty's peer, pidfds, unshare, deletion).
 */
export const TRACER_COMPARED_FIXTURES = [
  'tcp',
  'udp',
  'udp-closed',
  'unix',
  'socketpair',
  'pipe',
  'popen',
  'anon',
  'dup2',
  'thread',
  'received',
  'pty',
  'pidfd',
  'unshare',
  'deleted',
  'kernel-objects',
  'many-threads',
  'stdout-copies',
];
