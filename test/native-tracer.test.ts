import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  constants,
  cpSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { checkFork } from '../src/check/check-fork.js';
import type { CheckOptions } from '../src/options/options.js';
import { nativeTracerPath } from '../src/launch/native-tracer.js';
import { straceArguments } from '../src/session/strace-command.js';
import { TraceParser } from '../src/trace/parser.js';
import { project } from './helpers/project.js';
import { ROOT, fixture, runCli, scratch } from './helpers/run-cli.js';
import { waitFor } from './helpers/processes.js';
import { TRACER_COMPARED_FIXTURES, verdict } from './helpers/verdict.js';

const TRACER = nativeTracerPath();

/** Runs the tracer itself on `python3 -c code`, tracing `names`; its trace, exit code and stderr. */
async function traceOf(code: string, names: string[]) {
  const dir = scratch();
  const out = join(dir, 'trace');
  const run = await execa(TRACER, ['-f', '-e', `trace=${names.join(',')}`, '-o', out, '--', 'python3', '-c', code], {
    reject: false,
    cwd: dir,
  });
  return { trace: readFileSync(out, 'latin1'), exitCode: run.exitCode, stderr: run.stderr, dir };
}

// Built by `npm run build` where a C compiler is installed; CI installs one, so there it always runs.
describe.skipIf(!existsSync(TRACER) && !process.env.CI)('the native tracer', () => {
  test.concurrent.each(TRACER_COMPARED_FIXTURES)('gives the verdict strace gives, fd for fd: %s', async (name) => {
    const args = ['--entry', fixture(name), '--fork-marker', 'READY'];
    const [strace, native] = await Promise.all([
      runCli(['--tracer', 'strace', ...args]),
      runCli(['--tracer', 'native', ...args]),
    ]);
    expect(native.report, native.stderr).toBeDefined();
    expect(strace.report, strace.stderr).toBeDefined();
    expect(native.exitCode).toBe(strace.exitCode);
    // Which tracer followed the app: in the JSON, and in the console's header when it is strace.
    expect([strace.report!.tool.tracer, native.report!.tool.tracer]).toEqual(['strace', 'native']);
    expect(strace.stdout).toContain('traced by strace');
    expect(native.stdout).not.toContain('traced by');
    expect(verdict(native.report!, native.scratch)).toEqual(verdict(strace.report!, strace.scratch));
    expect(native.report!.leaks.length).toBeGreaterThan(0);
  });

  test('stops only for what changes a table: not F_GETFL, TCGETS or writes to a file; yes F_DUPFD_CLOEXEC, F_SETFD, FIOCLEX and records', async () => {
    const code = [
      'import fcntl, os, termios',
      "f = open('data.txt', 'w')",
      'fcntl.fcntl(f.fileno(), fcntl.F_GETFL)',
      'd = fcntl.fcntl(f.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)',
      'os.set_inheritable(d, True)',
      'fcntl.ioctl(d, termios.FIOCLEX)',
      'os.isatty(f.fileno())',
      "f.write('x' * 10); f.flush()",
      "try: os.pwrite(-1, b'record', 0)\nexcept OSError: pass",
    ].join('\n');
    const names = straceArguments(
      { forkPoint: { mode: 'exit' }, attribution: true, nativeStacks: false },
      '-',
      [],
    ).find((arg) => arg.startsWith('trace='))!;
    const { trace, exitCode } = await traceOf(code, names.slice('trace='.length).split(','));
    expect(exitCode).toBe(0);
    // A file's target ends with its inode, ours: `</srv/data.txt<ino 1234>>`.
    expect(trace).toMatch(/ fcntl\(3<[^>]*data\.txt<ino \d+>>, F_DUPFD_CLOEXEC, 10\) = 10<[^>]*data\.txt<ino \d+>>/);
    expect(trace).toMatch(
      / fcntl\(10<[^>]*data\.txt<ino \d+>>, F_SETFD, 0\) = 0|ioctl\(10<[^>]*data\.txt<ino \d+>>, FIONCLEX/,
    );
    expect(trace).toMatch(/ ioctl\(10<[^>]*data\.txt<ino \d+>>, FIOCLEX, 0\) = 0/);
    expect(trace).toContain(' pwrite64(-1, "record", 6, 0) = -1 EBADF (Bad file descriptor)');
    // Not stopped for (the execve lines hold the script's own words).
    const stops = trace.split('\n').filter((line) => !/^\d+ execve\(/.test(line));
    expect(stops.filter((line) => /F_GETFL|TCGETS|0x5401|\bwrite\(/.test(line))).toEqual([]);
  });

  test('writes what the parser reads, every line, each child after the call that made it', async () => {
    const dir = scratch();
    const out = join(dir, 'trace');
    const code = [
      'import os, socket, subprocess, threading',
      'a, b = socket.socketpair()',
      "socket.send_fds(a, [b'x'], [os.open('/dev/null', os.O_RDONLY)])",
      'socket.recv_fds(b, 1, 1)',
      "threads = [threading.Thread(target=lambda: open('/dev/null').close()) for _ in range(8)]",
      '[t.start() for t in threads]; [t.join() for t in threads]',
      "subprocess.run(['true'])",
      'pid = os.fork()',
      "if pid == 0: open('/dev/null'); os._exit(0)",
      'os.waitpid(pid, 0)',
      "print('READY', flush=True)",
    ].join('\n');
    const names = straceArguments(
      { forkPoint: { mode: 'marker', marker: 'READY' }, attribution: true, nativeStacks: false },
      out,
      ['python3', '-c', code],
    );
    const run = await execa(TRACER, names, { reject: false, cwd: dir });
    expect(run.exitCode).toBe(0);
    const parser = new TraceParser();
    const lines = readFileSync(out, 'latin1').split('\n').filter(Boolean);
    const events = lines.map((line) => parser.parse(line));
    expect(lines.length).toBeGreaterThan(50);
    expect(parser.unparsedLines).toBe(0);
    expect(events.filter((event) => event === undefined)).toEqual([]);
    // A child's first line comes after the line of the call that made it: it is held until then.
    const born = new Set<string>([lines[0]!.split(' ')[0]!]);
    for (const line of lines) {
      const pid = line.split(' ')[0]!;
      expect(born.has(pid), line).toBe(true);
      const child = /^\d+ (?:clone3?|v?fork)\(.*= (\d+)$/.exec(line)?.[1];
      if (child) born.add(child);
    }
  });

  /** Runs `command` under the tracer as the CLI does for `--fork-marker READY`; its stdout, stderr and exit code. */
  async function traceToMarker(command: string[]) {
    const dir = scratch();
    const args = straceArguments(
      { forkPoint: { mode: 'marker', marker: 'READY' }, attribution: false, nativeStacks: false, kernelTables: true },
      join(dir, 'trace'),
      command,
    );
    return execa(TRACER, args, { reject: false, cwd: dir });
  }

  // Stops are counted by the kernel: each is a voluntary context switch of the stopped thread.
  test.skipIf(process.arch !== 'x64')(
    'with a marker, stops for writes to copies of stdout only: one filter per copy kept, none for one closed at once',
    async () => {
      const code = [
        'import json, os, sys',
        'def status(key):',
        "    fd = os.open('/proc/self/status', os.O_RDONLY); text = os.read(fd, 65536).decode(); os.close(fd)",
        "    return int(next(l.split()[1] for l in text.splitlines() if l.startswith(key + ':')))",
        'checked = os.dup(1); os.close(checked)  # closed at once: the file below takes its number',
        "f = os.open('data.bin', os.O_WRONLY | os.O_CREAT)",
        "filters, switches = status('Seccomp_filters'), status('voluntary_ctxt_switches')",
        "for _ in range(2000): os.write(f, b'x')",
        "to_file = status('voluntary_ctxt_switches') - switches",
        'copy = os.dup(1)',
        "switches = status('voluntary_ctxt_switches')",
        "for _ in range(200): os.write(copy, b'.')",
        "to_copy = status('voluntary_ctxt_switches') - switches",
        "added = status('Seccomp_filters') - filters",
        "print(json.dumps({'f': f, 'checked': checked, 'toFile': to_file, 'toCopy': to_copy, 'added': added}), file=sys.stderr)",
        "print('READY')",
      ].join('\n');
      const run = await traceToMarker(['python3', '-c', code]);
      expect(run.exitCode, run.stderr).toBe(0);
      const seen = JSON.parse(run.stderr.trim().split('\n').at(-1)!) as Record<string, number>;
      expect(seen.f).toBe(seen.checked);
      expect(seen.toFile).toBeLessThan(100);
      expect(seen.toCopy).toBeGreaterThanOrEqual(200);
      expect(seen.added).toBe(1);
    },
  );

  const hasCompiler = process.env.CI || spawnSync('cc', ['--version']).status === 0;

  /** fixtures/native/<name>.c, compiled into a scratch dir. */
  async function compiled(name: string): Promise<string> {
    const binary = join(scratch(), name);
    await execa('cc', ['-O2', '-pthread', '-o', binary, join(ROOT, 'fixtures', 'native', `${name}.c`)]);
    return binary;
  }

  // Adding a filter makes the app run calls of the tracer's: signals that come meanwhile must
  // arrive all the same, in order, as sent (the C app checks each and says how many filters it had).
  test.skipIf(!hasCompiler)(
    'signals that come while filters are added arrive, every one, in order, as sent',
    async () => {
      const run = await traceToMarker([await compiled('watch-signals'), process.arch === 'x64' ? '17' : '0']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe('READY');
    },
  );

  test.skipIf(!hasCompiler)(
    'a copy of stdout one thread makes is watched at once: another thread writes the marker through it before the first makes another call',
    async () => {
      const args = ['--fork-marker', 'READY', '--', await compiled('thread-copy')];
      const [strace, native] = await Promise.all([
        runCli(['--tracer', 'strace', ...args]),
        runCli(['--tracer', 'native', ...args]),
      ]);
      expect([native.exitCode, strace.exitCode], native.stderr).toEqual([1, 1]);
      expect(native.report!.forkPoint.reached).toBe(true);
      expect(verdict(native.report!, native.scratch)).toEqual(verdict(strace.report!, strace.scratch));
      expect(native.report!.leaks.filter((leak) => !leak.allowed).map((leak) => leak.target)).toEqual([
        expect.stringMatching(/app\.log$/),
      ]);
    },
  );

  /** fixtures/native/<name>.c checked 20 times: each check reports inherited.log, and nothing else. */
  async function reportsInheritedEveryRun(
    name: string,
    forkPoint: Pick<CheckOptions, 'forkAtFirstFork' | 'forkMarker'>,
    tracer: CheckOptions['tracer'] = 'native',
  ) {
    const app = await compiled(name);
    const dir = dirname(app);
    for (let run = 0; run < 20; run++) {
      const report = await checkFork({ command: [app], cwd: dir, tracer, appOutput: 'ignore', ...forkPoint });
      expect(report.status, report.error?.message).toBe('fail');
      expect(report.leaks.map((leak) => leak.target)).toEqual([join(dir, 'inherited.log')]);
    }
  }

  // The first worker's table is the copy the kernel made at the fork: read from the child, which
  // has not run, not from the parent, whose other threads go on (their closes do not stop).
  test.skipIf(!hasCompiler)(
    'a file another thread closes the moment the first worker exists is reported, in every run: the worker inherited it',
    () => reportsInheritedEveryRun('close-after-fork', { forkAtFirstFork: true }),
    60_000,
  );

  // strace cannot hold the process: its text may show the close before the clone's return, and
  // the model then takes the child to have what another thread closed while the fork was under way.
  test.skipIf(!hasCompiler)(
    'with strace too, a file another thread closes the moment the first worker exists is reported in every run',
    () => reportsInheritedEveryRun('close-after-fork', { forkAtFirstFork: true }, 'strace'),
    60_000,
  );

  // From the entry of a write that may be the marker's until its table is read, the process's
  // other threads are paused: none of them can close (closes do not stop) or make anything there.
  test.skipIf(!hasCompiler)(
    'a file another thread closes the moment the marker is in the pipe is reported, in every run: it was open at the marker',
    () => reportsInheritedEveryRun('close-after-marker', { forkMarker: 'READY' }),
    60_000,
  );

  // Each new file's line carries its inode, and the kernel's table at the fork point is matched by
  // it: a file renamed or unlinked since keeps its maker and line, under the kernel's name for it
  // (and the name it was opened at, which rules and baselines match).
  test('a file renamed or unlinked after it was opened is reported under its name now, with the line that opened it', async () => {
    // Each tracer's app in a directory of its own: run side by side in one, the second rename would
    // replace the first app's renamed.log and leave it holding a deleted file.
    const check = async (tracer: CheckOptions['tracer']) => {
      const dir = project({
        'app.py': [
          'import os, tempfile',
          "log = open('opened.log', 'w')",
          "os.rename('opened.log', 'renamed.log')",
          "scratch = tempfile.NamedTemporaryFile(dir='.', delete=False)",
          'os.unlink(scratch.name)',
          "print('READY', flush=True)",
        ].join('\n'),
      });
      const run = await runCli(['--tracer', tracer!, '--fork-marker', 'READY', '--entry', 'app.py'], { cwd: dir });
      const local = (path: string) => path.replace(dir, '.').replace(/tmp\w+/, 'tmp*');
      const said = (run.report?.leaks ?? []).map((leak) => [
        local(leak.target),
        leak.origin?.line,
        leak.unaccounted ?? false,
        leak.openedAs && local(leak.openedAs),
      ]);
      return { said, error: run.stderr, stdout: run.stdout.replaceAll(dir, '.') };
    };
    const [native, strace] = await Promise.all([check('native'), check('strace')]);
    expect(native.said, native.error).toEqual([
      ['./renamed.log', 2, false, './opened.log'],
      ['./tmp* (deleted)', 4, false, undefined],
    ]);
    expect(native.stdout).toMatch(/renamed\.log\n(.*\n)*? +opened as \.\/opened\.log\n/);
    // strace names each as it was opened (it never reads the table), with the same lines; the unlink
    // shows only if the app still runs when the table is described, or uses the fd again.
    strace.said[1]![0] = String(strace.said[1]![0]).replace(/ \(deleted\)$/, '');
    expect(strace.said, strace.error).toEqual([
      ['./opened.log', 2, false, undefined],
      ['./tmp*', 4, false, undefined],
    ]);
  });

  // The pause stops each other thread where it is, blocked calls included, and takes its SIGSTOP away:
  // the app goes on as if nothing happened (a blocked call that ends with EINTR is retried by Python).
  test('threads paused at each marker write, in accept, select, sleep and a queue, go on unharmed', async () => {
    const code = [
      'import queue, selectors, socket, sys, threading, time',
      'results = {}',
      "listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen()",
      'a, b = socket.socketpair(); sel = selectors.DefaultSelector(); sel.register(a, selectors.EVENT_READ)',
      'q = queue.Queue()',
      "def accepting(): conn, _ = listener.accept(); results['accept'] = conn.recv(1)",
      "def selecting(): results['select'] = len(sel.select(timeout=30))",
      "def sleeping(): time.sleep(0.3); results['sleep'] = True",
      "def waiting(): results['queue'] = q.get(timeout=30)",
      'threads = [threading.Thread(target=f) for f in (accepting, selecting, sleeping, waiting)]',
      'for t in threads: t.start()',
      'time.sleep(0.1)',
      "for _ in range(20): print('READY', flush=True)",
      "socket.create_connection(listener.getsockname()).sendall(b'x'); b.send(b'y'); q.put('z')",
      'for t in threads: t.join(30)',
      "sys.exit(0 if results == {'accept': b'x', 'select': 1, 'sleep': True, 'queue': 'z'} else 3)",
    ].join('\n');
    const started = Date.now();
    const run = await traceToMarker(['python3', '-c', code]);
    expect(run.exitCode, run.stderr).toBe(0);
    // Each of the 20 writes read a table with the four threads paused; none waited out the 250 ms limit.
    const trace = readFileSync(join(run.cwd!, 'trace'), 'latin1');
    expect(trace.match(/ --- fds /g)?.length).toBeGreaterThanOrEqual(20);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  // A filter is added to every thread (TSYNC): where a thread has filters of its own, that would
  // either fail or spread them to threads that never asked, so the check refuses, and says why.
  test.skipIf(process.arch !== 'x64')(
    'refuses, and says so, to watch a copy of stdout made by a thread with seccomp filters of its own',
    async () => {
      const code = [
        'import ctypes, os, threading, time',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'class Insn(ctypes.Structure):',
        "    _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte), ('k', ctypes.c_uint)]",
        'class Program(ctypes.Structure):',
        "    _fields_ = [('len', ctypes.c_ushort), ('insns', ctypes.POINTER(Insn))]",
        'allow = (Insn * 1)(Insn(0x06, 0, 0, 0x7FFF0000))  # return SECCOMP_RET_ALLOW',
        'def sandboxed():',
        '    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS',
        '    assert libc.prctl(22, 2, ctypes.byref(Program(1, allow)), 0, 0) == 0  # PR_SET_SECCOMP: this thread only',
        "    os.write(os.dup(1), b'READY\\n')",
        'thread = threading.Thread(target=sandboxed)',
        'thread.start(); thread.join(); time.sleep(30)',
      ].join('\n');
      const args = ['--fork-marker', 'READY', '--', 'python3', '-c', code];
      const [native, strace] = await Promise.all([
        runCli(['--tracer', 'native', ...args]),
        runCli(['--tracer', 'strace', ...args]),
      ]);
      expect(strace.exitCode, strace.stderr).toBe(0);
      expect(native.exitCode).toBe(2);
      expect(native.stderr).toContain('a thread of the app has seccomp filters of its own');
      expect(native.stderr).toContain('use --tracer strace');
      expect(native.stdout + native.stderr).toContain("prefork-check's own tracer stopped early");
    },
  );

  test.each([
    { script: 'exit 3', exitCode: 3 },
    { script: 'kill -TERM $$', exitCode: 143 },
  ])('exits as the app did: $script gives $exitCode', async ({ script, exitCode }) => {
    const run = await execa(TRACER, ['-e', 'trace=close', '-o', '/dev/null', '--', 'bash', '-c', script], {
      reject: false,
    });
    expect(run.exitCode).toBe(exitCode);
  });

  test('--output-fd: a reader slower than the trace loses no line, however the fd was opened', async () => {
    const dir = scratch();
    const fifo = join(dir, 'trace');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    // Handed over non-blocking, as a caller may: a full pipe must hold the tracer up, not cost lines.
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const opens = 3000; // ~200 KB of lines: the pipe (64 KB) fills while nobody reads
    // node:child_process, which passes an fd at its own number (execa does not).
    const tracer = spawn(
      TRACER,
      [
        '-f',
        '-e',
        'trace=openat',
        '--output-fd',
        '3',
        '--',
        'python3',
        '-c',
        `for i in range(${opens}): open("/etc/hostname").close()`,
      ],
      { stdio: ['ignore', 'ignore', 'ignore', writer] },
    );
    const exited = once(tracer, 'exit');
    closeSync(writer);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(1 << 16);
    for (;;) {
      let count: number;
      try {
        count = readSync(reader, buffer);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (count === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, count)));
    }
    closeSync(reader);
    expect(await exited).toEqual([0, null]);
    const trace = Buffer.concat(chunks).toString('latin1');
    expect(trace.match(/ openat\(.* = \d+<\/etc\/hostname<ino \d+>>$/gm)).toHaveLength(opens);
  });

  test('takes its tracees with it when it is killed', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'pid');
    const tracer = execa(
      TRACER,
      ['-f', '-e', 'trace=close', '--', 'bash', '-c', `echo $$ > ${pidFile}; exec sleep 60`],
      {
        reject: false,
      },
    );
    const pid = await pidWritten(pidFile);
    expect(pid).toBeGreaterThan(0);
    tracer.kill('SIGKILL');
    await tracer;
    const alive = !(await waitFor(() => ended(pid), 2000, 20));
    expect(alive).toBe(false);
  });

  test('--die-with: killed with its parent, however that ends, and its tracees with it', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'pid');
    // The tracer's parent is this bash: SIGKILL leaves it no way to stop anything itself.
    const parent = execa(
      'bash',
      ['-c', `"${TRACER}" --die-with $$ -f -e trace=close -- bash -c 'echo $$ > ${pidFile}; exec sleep 60' & wait`],
      // Its output goes nowhere: a pipe the tracer kept would hold up the wait for bash.
      { reject: false, stdio: 'ignore' },
    );
    const app = await pidWritten(pidFile);
    expect(app).toBeGreaterThan(0);
    parent.kill('SIGKILL');
    await parent;
    expect(await waitFor(() => ended(app), 2000)).toBe(true);
  });

  test('--die-with a pid that is not its parent (the parent ended first): says so, starts nothing, exit 1', async () => {
    const dir = scratch();
    const run = await execa(TRACER, ['--die-with', '1', '-e', 'trace=close', '--', 'touch', join(dir, 'started')], {
      reject: false,
    });
    expect(run).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('--die-with 1: that process has already ended'),
    });
    expect(existsSync(join(dir, 'started'))).toBe(false);
  });

  test('a command it cannot find, or a call it does not know, is said in strace words, exit 1', async () => {
    const missing = await execa(TRACER, ['-e', 'trace=close', '--', 'no-such-program-here'], { reject: false });
    expect(missing).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining("Can't stat 'no-such-program-here'"),
    });
    const unknown = await execa(TRACER, ['-e', 'trace=close,frobnicate', '--', 'true'], { reject: false });
    expect(unknown).toMatchObject({ exitCode: 1, stderr: expect.stringContaining("invalid system call 'frobnicate'") });
    const optional = await execa(TRACER, ['-e', 'trace=close,?frobnicate', '-o', '/dev/null', '--', 'true'], {
      reject: false,
    });
    expect(optional.exitCode).toBe(0);
  });
});

/** The pid a traced `bash -c 'echo $$ > file; ...'` wrote, once the line is whole; 0 if it never is. */
async function pidWritten(file: string): Promise<number> {
  const written = () => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n');
  return (await waitFor(written, 5000, 20)) ? Number(readFileSync(file, 'utf8')) : 0;
}

/** Whether a process has ended (gone, or a zombie not yet reaped). */
function ended(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** A copy of the built package whose native tracer cannot run: not built (`missing`), a file that does not start (`broken`), or one that crashes (`crashing`). */
function packageWithoutTracer(how: 'missing' | 'broken' | 'crashing'): string {
  const dir = scratch();
  for (const part of ['dist', 'python', 'ruby', 'package.json'])
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const copy = join(dir, 'dist', 'native', `prefork-tracer-linux-${process.arch}`);
  rmSync(copy, { force: true });
  if (how === 'broken') writeFileSync(copy, '#!/nonexistent/interpreter\n', { mode: 0o755 });
  if (how === 'crashing') writeFileSync(copy, '#!/bin/sh\nkill -SEGV $$\n', { mode: 0o755 });
  return dir;
}

describe('auto, the default tracer', () => {
  const env = { PREFORK_CHECK_TRACER: '' };
  const args = ['--entry', fixture('leaky'), '--fork-marker', 'READY'];

  test.skipIf(!existsSync(TRACER) && !process.env.CI)("is prefork-check's own tracer where it can run", async () => {
    const run = await runCli(args, { env });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.report!.tool.tracer).toBe('native');
    expect(run.stdout).not.toContain('traced by');
  });

  test('is strace for --native-stacks and for a strace binary the user names, which then must exist', async () => {
    const stacks = await runCli(['--native-stacks', ...args], { env });
    expect(stacks.report?.tool.tracer, stacks.stderr).toBe('strace');
    const named = await runCli(['--strace', '/nonexistent/strace', ...args], { env });
    expect(named.exitCode).toBe(2);
    expect(named.stderr).toMatch(
      /strace was not found \(looked for `\/nonexistent\/strace` on PATH\)\. Install strace/,
    );
  });

  test.concurrent.each(['missing', 'broken', 'crashing'] as const)(
    'is strace where the native tracer cannot run (%s), with the same verdict; with no strace either, the error says both',
    async (how) => {
      const root = packageWithoutTracer(how);
      const cli = join(root, 'dist', 'cli.js');
      const run = await execa('node', [cli, ...args], {
        reject: false,
        env: { ...env, NO_COLOR: '1', FIXTURE_SCRATCH: root },
      });
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stdout).toContain('traced by strace');
      expect(run.stdout).toMatch(/fd \d+\s+file\s+\S*app\.log/);
      // No strace on PATH: node is found by its full path.
      const started = Date.now();
      const none = await execa(process.execPath, [cli, '--', '/bin/true'], {
        reject: false,
        env: { ...env, PATH: join(root, 'empty'), FIXTURE_SCRATCH: root },
      });
      expect(none.exitCode).toBe(2);
      // Not held up by the probe's 10 s limit once its answer is in.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(none.stderr).toMatch(
        {
          missing:
            /strace was not found .*, and prefork-check's own tracer cannot run here: it is not built for linux-\w+/,
          broken: /strace was not found .*, and prefork-check's own tracer cannot run here: \S+ does not start/,
          crashing: /prefork-check's own tracer cannot run here: \S+ does not start \(killed by SIGSEGV\)/,
        }[how],
      );
    },
  );
});
