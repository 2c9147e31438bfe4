import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { processesWithEnv, settle } from '../helpers/processes.js';
import { CLI, ROOT, scratch } from '../helpers/run-cli.js';
import { treeState } from '../helpers/tree-state.js';

/**
 * Runs the CLI asking for every output file, with a temp directory of its own; returns what it did,
 * whether its directory (outputs and temp directory) or the fixtures changed, and what it left running.
 */
async function badRun(args: string[], options: { env?: Record<string, string>; wrap?: string[] } = {}) {
  const dir = scratch();
  const temp = join(dir, 'tmp');
  mkdirSync(temp);
  const outputs = ['report.json', 'junit.xml', 'baseline.json'].map((name) => join(dir, name));
  const [json, junit, baseline] = outputs as [string, string, string];
  const fixtures = join(ROOT, 'fixtures');
  const before = { dir: treeState(dir), fixtures: treeState(fixtures) };
  const own = ['--json', json, '--junit', junit, '--baseline', baseline, '--update-baseline'];
  const [program, ...rest] = [...(options.wrap ?? []), process.execPath, CLI, ...own, ...args];
  const run = await execa(program!, rest, {
    cwd: ROOT,
    env: { FIXTURE_SCRATCH: dir, TMPDIR: temp, ...options.env },
    reject: false,
    stdin: 'ignore',
  });
  const after = { dir: treeState(dir), fixtures: treeState(fixtures) };
  return { ...run, before, after, running: await settle(() => processesWithEnv('FIXTURE_SCRATCH', dir)) };
}

// Drops ptrace the way a container's seccomp profile does (EPERM; some profiles say ENOSYS),
// then runs the CLI (Debian's python3-seccomp).
const withoutPtrace = (errno: 'EPERM' | 'ENOSYS') => [
  '/usr/bin/python3',
  '-c',
  `import errno, os, seccomp, sys\nf = seccomp.SyscallFilter(seccomp.ALLOW)\nf.add_rule(seccomp.ERRNO(errno.${errno}), "ptrace")\nf.load()\nos.execv(sys.argv[1], sys.argv[1:])`,
];

describe('bad input: exit 2, one clear line, no stack, no report or baseline written', () => {
  const emptyPath = scratch();

  test.concurrent.each([
    {
      name: 'missing entry',
      args: ['--entry', 'fixtures/nope.py'],
      error: /^prefork-check: The entry file fixtures\/nope\.py does not exist/,
    },
    {
      name: 'command that does not exist',
      args: ['--', 'no-such-server', '--preload'],
      error: /^prefork-check: The command `no-such-server` was not found on PATH\.$/,
    },
    {
      name: 'unknown flag',
      args: ['--forkmarker', 'READY', '--', 'true'],
      error: /^prefork-check: Unknown option '--forkmarker'\. See `prefork-check --help`\.$/,
    },
    {
      name: 'bad --timeout',
      args: ['--timeout', 'soon', '--', 'true'],
      error:
        /^prefork-check: Expected `--timeout` to be a number of seconds from 0\.001 to 2147483 \(24\.8 days\), got `soon`\.$/,
    },
    {
      name: 'a flag value that looks like a flag',
      args: ['--timeout', '-3', '--', 'true'],
      error:
        /^prefork-check: Option '--timeout' argument is ambiguous\. For a value that starts with a dash, write `--timeout=<value>`\./,
    },
    {
      name: 'empty marker',
      args: ['--fork-marker', '', '--', 'true'],
      error: /^prefork-check: Expected `fork-marker` to be a non-empty text/,
    },
    {
      name: 'strace missing from PATH',
      args: ['--tracer', 'strace', '--', '/bin/true'],
      env: { PATH: emptyPath } as Record<string, string>,
      error: /^prefork-check: strace was not found .*apt-get install strace/,
    },
    {
      name: 'ptrace not permitted',
      args: ['--', '/bin/true'],
      wrap: withoutPtrace('EPERM'),
      error:
        /^prefork-check: (?:strace|prefork-check's tracer) may not trace processes here \(it said: ".*Operation not permitted"\)\. .*--cap-add=SYS_PTRACE/,
    },
    {
      name: "ptrace not permitted, prefork-check's own tracer",
      args: ['--tracer', 'native', '--', '/bin/true'],
      wrap: withoutPtrace('EPERM'),
      error:
        /^prefork-check: prefork-check's tracer may not trace processes here \(it said: ".*Operation not permitted"\)\. .*--cap-add=SYS_PTRACE/,
    },
    {
      name: 'ptrace refused as not implemented (ENOSYS)',
      args: ['--', '/bin/true'],
      wrap: withoutPtrace('ENOSYS'),
      error:
        /^prefork-check: (?:strace|prefork-check's tracer) may not trace processes here \(it said: ".*Function not implemented"\)\. .*--cap-add=SYS_PTRACE/,
    },
    {
      name: 'watch, ptrace not permitted',
      args: ['watch', '--drive', 'true', '--ready-port', '9', '--', '/bin/sleep', '5'],
      wrap: withoutPtrace('EPERM'),
      error:
        /^prefork-check: (?:strace|prefork-check's tracer) may not trace processes here \(it said: ".*Operation not permitted"\)\. .*--cap-add=SYS_PTRACE/,
    },
    {
      name: 'unwritable report path',
      args: ['--json', '/proc/nope/report.json', '--', '/bin/true'],
      error: /^prefork-check: Cannot write the report \/proc\/nope\/report\.json/,
    },
    {
      name: 'a report over the entry file',
      args: ['--json', 'fixtures/clean/app.py', '--entry', 'fixtures/clean/app.py'],
      error:
        /^prefork-check: Cannot write the report fixtures\/clean\/app\.py: it is an entry file\. Give reports paths of their own\.$/,
    },
    {
      name: 'an empty report path',
      args: ['--json', '', '--', '/bin/true'],
      error: /^prefork-check: Cannot write the report "": the path is empty\.$/,
    },
    {
      name: 'a directory as the report',
      args: ['--junit', '.', '--', '/bin/true'],
      error: /^prefork-check: Cannot write the report \.: it is a directory/,
    },
    {
      name: 'a timeout past what Node can wait',
      args: ['--timeout', '2147484', '--', '/bin/true'],
      error:
        /^prefork-check: Expected `--timeout` to be a number of seconds from 0\.001 to 2147483 \(24\.8 days\), got `2147484`/,
    },
    {
      name: 'a timeout under a millisecond',
      args: ['--timeout', '0.0001', '--', '/bin/true'],
      error: /^prefork-check: Expected `--timeout` to be a number of seconds from 0\.001 .*, got `0\.0001`/,
    },
    {
      name: 'TMPDIR that does not exist',
      args: ['--', '/bin/true'],
      env: { TMPDIR: '/nonexistent/tmp' } as Record<string, string>,
      error: /^prefork-check: Cannot make a temp directory in \/nonexistent\/tmp .*Set TMPDIR/,
    },
    {
      name: 'watch with a ready port out of range',
      args: ['watch', '--drive', 'true', '--ready-port', '70000', '--', 'sleep', '5'],
      error: /^prefork-check: Expected the ready port to be a whole number from 1 to 65535, got `70000`\.$/,
    },
  ])('$name', async ({ args, env, wrap, error }) => {
    const run = await badRun(args, { ...(env ? { env } : {}), ...(wrap ? { wrap } : {}) });
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.stderr.trimEnd().split('\n'), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(error);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    // Nothing written (no report, no baseline, no temp file or fifo), nothing changed, nothing left running.
    expect(run.after).toEqual(run.before);
    expect(run.running).toEqual([]);
  });
});
