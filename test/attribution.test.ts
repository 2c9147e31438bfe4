import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Leak } from '../src/report/types.js';
import { declaredOrigins, reportedOrigins } from './helpers/origins.js';
import { expectTableMatchesKernel } from './helpers/kernel-view.js';
import { ROOT, fixture, leakLines, runCli, scratch } from './helpers/run-cli.js';
import { pythonHas, rubyHas } from './helpers/installed.js';

const appFrames = (leak: Leak) =>
  leak.stack.filter((frame) => !frame.library).map((frame) => `${frame.file}:${frame.line}`);
const leakAt = (leaks: Leak[], target: RegExp) => leaks.find((leak) => target.test(leak.target))!;

describe('origins across the ways Python is started', () => {
  test('python3 -m: an fd opened at import two modules down names that line, and the stack shows every importer', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', '-m', 'fixtures.pkgapp']);
    expect(run.exitCode).toBe(1);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('pkgapp', 'storage.py')));
    expect(appFrames(run.report!.leaks[0]!)).toEqual([
      'fixtures/pkgapp/storage.py:4',
      'fixtures/pkgapp/service.py:2',
      'fixtures/pkgapp/__main__.py:8',
    ]);
    // The import machinery's frames are left out, as in Python's tracebacks; other library frames are folded.
    expect(run.report!.leaks[0]!.stack.map((frame) => frame.file)).not.toContainEqual(
      expect.stringMatching(/importlib/),
    );
    expect(run.stdout).toMatch(/__main__\.py:8 in <module>\n\s+… 2 library frames \(runpy\)/);
  });

  test('a console script started through #!/usr/bin/env python3', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', fixture('pkgapp', 'serve')]);
    expect(run.exitCode).toBe(1);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('pkgapp', 'storage.py')));
    expect(appFrames(run.report!.leaks[0]!).at(-1)).toBe('fixtures/pkgapp/serve:7');
  });

  // Where the project is the directory the check runs in; the script imports the fixture from this repository.
  test.each([
    ['installed outside the project', 'elsewhere/bin', { module: 'pkgapp-serve', library: true }],
    [
      "in a venv inside the project (pip's console script)",
      'project/.venv/bin',
      { module: 'pkgapp-serve', library: true },
    ],
    ["in the project's own bin directory", 'project/bin', { module: 'bin.pkgapp-serve', library: false }],
  ])('a console script %s', async (_where, binDir, frame) => {
    const base = scratch();
    const script = join(base, binDir, 'pkgapp-serve');
    mkdirSync(dirname(script), { recursive: true });
    mkdirSync(join(base, 'project'), { recursive: true });
    if (binDir.includes('.venv')) writeFileSync(join(base, 'project/.venv/pyvenv.cfg'), 'home = /usr/bin\n');
    const source = readFileSync(fixture('pkgapp', 'serve'), 'utf8');
    writeFileSync(script, source.replace(/sys\.path\.insert\(0, .*\)/, `sys.path.insert(0, ${JSON.stringify(ROOT)})`));
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', script], { cwd: join(base, 'project') });
    expect(run.exitCode).toBe(1);
    expect(run.report!.leaks[0]!.stack.at(-1)).toMatchObject(frame);
  });

  test("an fd made entirely inside an installed server library names the library's line and says so", async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', '-m', 'netlib', 'fixtures.leaky.app'], {
      env: { PYTHONPATH: join(ROOT, 'fixtures/pkgapp/_lib/site-packages') },
    });
    expect(run.exitCode).toBe(1);
    const listener = leakAt(run.report!.leaks, /^tcp /);
    expect(listener.origin).toEqual({
      file: 'fixtures/pkgapp/_lib/site-packages/netlib/__init__.py',
      line: 9,
      function: 'bind',
      native: false,
      library: true,
    });
    expect(listener.originNote).toMatch(/library code/);
    expect(listener.stack.every((frame) => frame.library)).toBe(true);
    // The app the library then loads is still the app.
    expect(leakAt(run.report!.leaks, /app\.log$/).origin).toMatchObject({
      file: 'fixtures/leaky/app.py',
      line: 8,
      library: false,
    });
  });

  test("the site's own sitecustomize still runs, and its fds are attributed to it", async () => {
    const run = await runCli(['--entry', fixture('with-sitecustomize'), '--fork-marker', 'READY'], {
      env: { PYTHONPATH: join(ROOT, 'fixtures/with-sitecustomize/site') },
    });
    expect(run.exitCode, run.stderr).toBe(1);
    const declared = [
      ...declaredOrigins(fixture('with-sitecustomize')),
      ...declaredOrigins(fixture('with-sitecustomize', 'site/sitecustomize.py')),
    ];
    expect(reportedOrigins(run.report!)).toEqual(declared.sort());
    // prefork-check's own bootstrap frames are never taken for the app's.
    for (const leak of run.report!.leaks)
      expect(appFrames(leak).filter((frame) => frame.startsWith('python/'))).toEqual([]);
  });
});

describe('fds no Python line made', () => {
  test('opened by a wrapper shell before it execs Python: labelled as the shell’s', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--',
      'bash',
      '-c',
      `exec 9</etc/hostname; exec python3 ${fixture('clean')}`,
    ]);
    expect(run.exitCode).toBe(1);
    const leak = run.report!.leaks[0]!;
    expect(leak.fd).toBe(9);
    expect(leak.origin).toBeNull();
    expect(leak.createdBy).toMatchObject({
      type: 'syscall',
      syscall: 'openat',
      program: expect.stringMatching(/bash$/),
    });
    expect(leak.originNote).toMatch(/neither a Python nor a Ruby process/);
  });

  test('Python started with -I skips the bootstrap: labelled, not attributed to a wrong line', async () => {
    const code = "import os; os.open('/etc/hostname', os.O_RDONLY)";
    const isolated = await runCli(['--', 'python3', '-I', '-c', code]);
    expect(isolated.exitCode).toBe(1);
    expect(isolated.report!.leaks[0]!.origin).toBeNull();
    expect(isolated.report!.leaks[0]!.originNote).toMatch(
      /before the interpreter ran any of the app's code .*Python run with -I/,
    );
    const plain = await runCli(['--', 'python3', '-c', code]);
    expect(plain.report!.leaks[0]!.origin).toMatchObject({ file: '<string>', line: 1, function: '<module>' });
  });

  test('a non-Python app: no origin, the creating syscall and program instead', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', fixture('bash-app', 'app.sh')]);
    const leak = run.report!.leaks.find((candidate) => candidate.fd === 7)!;
    expect(leak.origin).toBeNull();
    expect(leak.createdBy).toMatchObject({ syscall: 'openat', program: expect.stringMatching(/bash$/) });
    expect(run.stdout).toMatch(/note {6}made by openat in \S+bash, which is neither a Python nor a Ruby process/);
  });
});

describe('the app cannot disturb attribution', () => {
  test('record-shaped writes without the run’s token, and a replaced os.pwrite, change nothing', async () => {
    const run = await runCli(['--entry', fixture('forged'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('forged')));
  });

  test('an app handling every signal itself receives none from prefork-check', async () => {
    const run = await runCli(['--entry', fixture('signals'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('signals')));
    expect(readFileSync(join(run.scratch, 'signals.txt'), 'utf8')).toBe('');
  });
});

describe('a duplicated fd is an fd of its own', () => {
  test('os.dup, socket.dup, socket.fromfd, F_DUPFD and mmap: each made by its own syscall at its own line, pointing at what it copies', async () => {
    const run = await runCli(['--entry', fixture('dup'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    const source = readFileSync(fixture('dup'), 'utf8').split('\n');
    const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1;
    const rows = run.report!.leaks.map((leak) => [
      leak.fd,
      leak.createdBy.type === 'syscall' ? leak.createdBy.syscall : leak.createdBy.type,
      leak.duplicateOf,
      leak.origin?.line,
    ]);
    expect(rows).toEqual([
      [3, 'openat', undefined, lineOf('log = open(')],
      [4, 'fcntl', 3, lineOf('copy = os.dup(')],
      [5, 'socket', undefined, lineOf('listener = socket.socket(')],
      [6, 'fcntl', 5, lineOf('twin = listener.dup(')],
      [7, 'fcntl', 5, lineOf('adopted = socket.fromfd(')],
      [8, 'openat', undefined, lineOf('mapped_file = open(')],
      [9, 'fcntl', 8, lineOf('mapped = mmap.mmap(')],
      // Made in C with no Python call announcing it: the line of the fd it copies, said so.
      [10, 'dup', 3, lineOf('log = open(')],
      // Its original was closed after mapping: still the mmap's own fd, at the mmap's line.
      [11, 'fcntl', undefined, lineOf('kept_map = mmap.mmap(')],
      [100, 'fcntl', 3, lineOf('by_fcntl = fcntl.fcntl(')],
    ]);
    expect(run.report!.leaks.find((leak) => leak.fd === 10)!.originNote).toMatch(
      /^duplicated by dup in native code that no Python call announced; the origin and stack are those of the fd it copies/,
    );
  });
});

describe('a directory being listed is an open fd', () => {
  test('os.scandir by path and by fd names its line; an exhausted listing is closed', async () => {
    const run = await runCli(['--entry', fixture('scandir'), '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(
      run.report!.leaks.map((leak) => [leak.kind, leak.createdBy.type === 'syscall' && leak.createdBy.syscall]),
    ).toEqual([
      ['directory', 'openat'],
      ['directory', 'openat'],
      ['directory', 'fcntl'],
    ]);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('scandir')));
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });
});

// Debian's python3 has the C dbm module (the pyenv builds here may not).
const nativeDbm = pythonHas('_dbm');
// shelve takes the first of dbm.gnu (python3-gdbm, optional), dbm.ndbm: their file names differ.
const shelveFile = pythonHas('_gdbm') ? '/sessions' : '/sessions.db';

describe('fds made by C libraries behind a Python call', () => {
  test.runIf(nativeDbm)('dbm and shelve databases name the line that opened them', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', fixture('dbm')]);
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.report!.leaks.map((leak) => leak.target.replace(run.scratch, ''))).toEqual(['/cache.db', shelveFile]);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('dbm')));
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });
});

describe('many threads at once', () => {
  // 16 threads make fds four ways (open, ctypes, os.dup, sqlite3.connect), keeping some, while
  // their closes and opens interleave in the trace. Every file's name says which function made it.
  test('every fd is in the table and names its own line, run after run', async () => {
    const source = readFileSync(fixture('many-threads'), 'utf8').split('\n');
    const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1;
    const [opened, duplicated] = [lineOf('fd = os.open('), lineOf('copy = os.dup(fd)')];
    for (let run = 0; run < 5; run++) {
      const result = await runCli(['--entry', fixture('many-threads'), '--fork-marker', 'READY']);
      const report = result.report!;
      expectTableMatchesKernel(report.table, result.kernel!);
      expect(report.leaks).toHaveLength(16 + 16 + 32 + 8);
      for (const leak of report.leaks) {
        const by = /\/(open|libc|dup|sqlite)-\d+-\d+\.(txt|db)$/.exec(leak.target)?.[1];
        expect(`${leak.target} ${leak.origin?.function}`).toBe(`${leak.target} by_${by}`);
        expect(leak.origin!.native).toBe(by === 'libc' || by === 'sqlite');
        if (by === 'dup') expect(leak.origin!.line).toBe(leak.duplicateOf === undefined ? opened : duplicated);
      }
    }
  }, 120_000);
});

describe('records in long runs no traced call breaks', () => {
  // 6,000 announced native calls that make no fd: records several times what a thread's buffer
  // holds, with a timer's handler opening files in between (some while a record is being written).
  test('every kept fd names its own line: no record lost, repeated or out of order', async () => {
    for (let run = 0; run < 3; run++) {
      const result = await runCli(['--entry', fixture('many-records'), '--fork-marker', 'READY']);
      expect(result.exitCode, result.stderr).toBe(1);
      const report = result.report!;
      expect(reportedOrigins(report)).toEqual(declaredOrigins(fixture('many-records')));
      expect(report.leaks.filter((leak) => /\/alarm-\d+\.txt$/.test(leak.target)).length).toBeGreaterThan(1);
      expectTableMatchesKernel(report.table, result.kernel!);
    }
  }, 120_000);
});

// strace -k unwinds every traced call: 20-30 s for these small starts on a 2-vCPU VM, so each
// check gets --timeout 120 rather than the default 30 s.
describe('--native-stacks', () => {
  const slow = ['--tracer', 'strace', '--native-stacks', '--timeout', '120'];

  test('an fd C code made names its native stack: the libc call, the library and the extension that called it', async () => {
    const run = await runCli([...slow, '--entry', fixture('sqlite'), '--fork-marker', 'READY'], { timeout: 130_000 });
    const database = run.report!.leaks.find((leak) => leak.target.endsWith('/app.db'))!;
    expect(database.nativeStack![0]).toMatch(/^libc\.so\.6 __open/);
    expect(database.nativeStack).toContainEqual(
      expect.stringMatching(/^libsqlite3\.so\S* sqlite3(PagerOpen|BtreeOpen)\+0x/),
    );
    expect(database.nativeStack).toContainEqual(expect.stringMatching(/^_sqlite3\.cpython/));
    expect(run.stdout).toMatch(/ {10}native {4}libc\.so\.6 __open/);
  }, 140_000);

  test('the fd no Python call announced gets a stack too; without the flag there is none', async () => {
    const traced = await runCli([...slow, '--entry', fixture('ctypes'), '--fork-marker', 'READY'], {
      timeout: 130_000,
    });
    const unannounced = traced.report!.leaks.find((leak) => leak.origin === null)!;
    expect(unannounced.nativeStack).toContainEqual(expect.stringMatching(/^_ctypes\.cpython\S* _ctypes_callproc/));
    const plain = await runCli(['--entry', fixture('ctypes'), '--fork-marker', 'READY']);
    expect(plain.report!.leaks.every((leak) => leak.nativeStack === undefined)).toBe(true);
  }, 200_000);
});

describe('a file a loader evaluates inside lines of its own (Unicorn’s config.ru)', () => {
  test('its leaks are named at the lines an editor shows, not the eval’s', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', fixture('ruby-eval', 'loader.rb')]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/eval.log`]);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('ruby-eval', 'app.ru')));
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });
});

describe('Ruby: many threads at once', () => {
  // Four threads make files and pipes at once, keeping some, then the app forks: each file's and
  // pipe's line is its own, whichever thread's records reach the trace first.
  test('every kept fd names its own line, run after run', async () => {
    const source = readFileSync(fixture('ruby-threads', 'app.rb'), 'utf8').split('\n');
    const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1;
    for (let run = 0; run < 3; run++) {
      const result = await runCli(['--fork-marker', 'READY', '--', 'ruby', fixture('ruby-threads', 'app.rb')]);
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      const leaks = result.report!.leaks.filter((leak) => !leak.allowed);
      expect(leaks).toHaveLength(4 * 4 + 4 * 2 * 2 + 1);
      for (const leak of leaks) {
        const expected = /thread-\d+-\d+\.txt$/.test(leak.target)
          ? lineOf('file = File.open(')
          : leak.kind === 'pipe'
            ? lineOf('IO.pipe')
            : lineOf("'after.txt'");
        expect(`${leak.target} ${leak.origin?.line}`).toBe(`${leak.target} ${expected}`);
      }
      expectTableMatchesKernel(result.report!.table, result.kernel!);
    }
  }, 120_000);
});

// Debian's ruby-sqlite3 (installed by .ci/run); skipped where the gem is missing.
const hasSqliteGem = rubyHas('sqlite3');

describe('Ruby: fds a C extension makes in its own code', () => {
  test.runIf(hasSqliteGem)(
    'the sqlite3 gem’s database is named at the app line that called into it, as native',
    async () => {
      const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', fixture('ruby-sqlite', 'app.rb')]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/app.db`]);
      expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('ruby-sqlite', 'app.rb')));
      expect(run.report!.leaks.find((leak) => !leak.allowed)!.originNote).toMatch(/native code \(sqlite3\)/);
      expectTableMatchesKernel(run.report!.table, run.kernel!);
    },
  );

  // Debian's ruby-ffi (installed by .ci/run).
  test.runIf(rubyHas('ffi'))(
    'a C function attached with FFI (as rdkafka and ethon attach theirs) names the app line that called it, as native',
    async () => {
      const app = fixture('ruby-ffi', 'app.rb');
      const run = await runCli(['--fork-marker', 'READY', '--', 'ruby', app]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(app));
      for (const leak of run.report!.leaks.filter((candidate) => !candidate.allowed))
        expect(leak.origin, leak.target).toMatchObject({ native: true, call: 'ffi' });
      expectTableMatchesKernel(run.report!.table, run.kernel!);
    },
  );
});
