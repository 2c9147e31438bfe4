import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { checkFork } from '../src/index.js';
import { expectTableMatchesKernel, readLiveKernelView, type KernelView } from './helpers/kernel-view.js';
import { fixture, leakLines, runCli, ROOT } from './helpers/run-cli.js';
import { declaredOrigins, reportedOrigins } from './helpers/origins.js';

describe('--fork-at-first-fork', () => {
  test('the worker fork, not the subprocess before it, and through the pyenv shim', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', fixture('forker')]);
    expect(run.exitCode).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/shared.log`]);
    const forkPoint = run.report!.forkPoint;
    expect(forkPoint.reached).toBe(true);
    expect(forkPoint.workerPid).toBeGreaterThan(0);
    expect(forkPoint.program).toMatch(/python3/);
    // os.register_at_fork(before=...) recorded the kernel's table right at the fork.
    expect(run.kernel!.pid).toBe(forkPoint.pid);
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  test.each(['accept', 'read', 'pause'])(
    'workers that block at once in %s(): decided by what the kernel says they wait in, not a timeout',
    async (mode) => {
      const run = await runCli([
        '--fork-at-first-fork',
        '--timeout',
        '20',
        '--',
        'python3',
        fixture('blocking-workers'),
        mode,
      ]);
      expect(run.exitCode, run.stdout).toBe(1);
      expect(run.report!.forkPoint.reached).toBe(true);
      expect(run.report!.durationMs).toBeLessThan(10_000);
      expect(leakLines(run.report!)).toEqual([
        `file ${run.scratch}/master.log`,
        expect.stringMatching(/^pipe pipe:\[\d+\]$/),
        expect.stringMatching(/^pipe pipe:\[\d+\]$/),
        expect.stringMatching(/^socket tcp 127\.0\.0\.1:\d+$/),
      ]);
      expect(run.report!.forkPoint.notes).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `judged a worker by what the kernel says: it waits in (${{ accept: 'accept4?', read: 'read', pause: 'pause|rt_sigsuspend' }[mode]}\\(\\)|a call|syscall \\d+)`,
          ),
        ),
      );
      expect(run.kernel!.pid).toBe(run.report!.forkPoint.pid);
      expectTableMatchesKernel(run.report!.table, run.kernel!);
    },
  );

  test('a daemon: neither fork of daemonizing is a worker fork, the daemon’s own fork is', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', fixture('daemonize'), 'fork']);
    expect(run.exitCode, run.stdout).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/daemon.log`]);
    // The child is passed over as its parent exits or as it calls setsid(), whichever the trace shows first.
    const skipped = run.report!.forkPoint.notes.filter((note) => note.startsWith('skipped pid'));
    expect(skipped).toEqual([
      expect.stringMatching(/: (called setsid\(\)|pid \d+ \(python3\) exited after forking it: handed over)/),
      expect.stringMatching(/: forked by pid \d+ \(python3\) right after its setsid\(\): daemonizing/),
    ]);
    expect(run.kernel!.pid).toBe(run.report!.forkPoint.pid);
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  test('Ruby’s Process.daemon: its forks are passed over, the eventfds its VM remakes first notwithstanding', async () => {
    const run = await runCli(['--fork-at-first-fork', '--', 'ruby', fixture('ruby-daemon', 'forks.rb')]);
    expect(run.exitCode, run.stdout).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/daemon.log`]);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('ruby-daemon', 'forks.rb')));
    expect(run.kernel!.pid).toBe(run.report!.forkPoint.pid);
    expectTableMatchesKernel(run.report!.table, run.kernel!);
  });

  // Sleeping, it is judged by what it waits in; busy, by its parent waiting for it, long before
  // the timeout (a busy worker is then followed until it, as it never waits to serve).
  test.each([
    ['sleeps', 'time.sleep(0.3)'],
    ['works on while its parent waits for it', 'end = time.time() + 60\n    while time.time() < end: pass'],
  ])('a worker that calls setsid() first and %s (RQ’s work horse) is a worker, not a daemon', async (_what, work) => {
    const script = [
      'import os, time',
      'log = open("/etc/hostname")',
      'pid = os.fork()',
      'if pid == 0:',
      '    os.setsid()',
      `    ${work}`,
      '    os._exit(0)',
      'os.waitpid(pid, 0)',
    ].join('\n');
    const run = await runCli(['--fork-at-first-fork', '--timeout', '6', '--', 'python3', '-c', script]);
    expect(run.exitCode, run.stdout).toBe(1);
    expect(run.report!.forkPoint.description).toMatch(/^fork of worker pid \d+ by pid \d+ \(python3\)$/);
    expect(leakLines(run.report!)).toEqual(['file /etc/hostname']);
  });

  test('subprocesses and threads are not workers: the fork point is never reached', async () => {
    const script =
      'import subprocess, threading; subprocess.run(["true"]); t = threading.Thread(target=print); t.start(); t.join()';
    const run = await runCli(['--fork-at-first-fork', '--', 'python3', '-c', script]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('APP_EXITED_BEFORE_FORK_POINT');
    expect(run.report!.forkPoint.reached).toBe(false);
  });
  test('workers started by fork and exec (multiprocessing’s spawn): the timeout says so, instead of only to wait longer', async () => {
    const script = [
      'import multiprocessing, time',
      'if __name__ == "__main__":',
      '    spawn = multiprocessing.get_context("spawn")',
      '    workers = [spawn.Process(target=time.sleep, args=(60,)) for _ in range(2)]',
      '    for worker in workers: worker.start()',
      '    time.sleep(60)',
    ].join('\n');
    const run = await runCli(['--fork-at-first-fork', '--timeout', '5', '--', 'python3', '-c', script]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('TIMEOUT');
    // The two workers and multiprocessing's resource tracker, each an exec of python3.
    expect(run.report!.error!.message).toMatch(
      /It started 3 programs by fork and exec \(pid \d+ ran \S*python3[^,]*, pid \d+ ran .*\) and forked no process that went on without exec\..*no fork point to check/,
    );
    expect(run.report!.error!.message).not.toMatch(/Raise --timeout if it is just slow/);
  });

  test.each([[[]], [['--fork-at-first-fork']]])(
    'a server that serves in the one process it started as (%j): the timeout says it waits there for requests',
    async (flags) => {
      const script =
        'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); f = open("/etc/hostname"); s.accept()';
      const run = await runCli([...flags, '--timeout', '3', '--', 'python3', '-c', script]);
      expect(run.exitCode).toBe(2);
      expect(run.report!.error!.code).toBe('TIMEOUT');
      expect(run.report!.error!.message).toMatch(
        /pid \d+ \(python3[^)]*\) forked no process and was waiting in accept4?\(\), as a server does between requests: .*no fork point to check/,
      );
      expect(run.report!.error!.message).not.toMatch(/Raise --timeout/);
      // What it held when stopped is still shown.
      expect(run.report!.leaks.map((leak) => leak.target)).toContain('/etc/hostname');
    },
  );

  test('an app still busy when stopped, with no process forked: only to raise --timeout', async () => {
    const run = await runCli(['--fork-at-first-fork', '--timeout', '3', '--', 'python3', '-c', 'while True: pass']);
    expect(run.report!.error!.code).toBe('TIMEOUT');
    expect(run.report!.error!.message).toMatch(/within 3 s; it was stopped\. Raise --timeout if it is just slow\.$/);
  });

  test('a server checked with no fork point declared: the timeout names the workers it forked and how to check them', async () => {
    // A subshell of bash is no worker, and a program started by fork and exec is none either.
    const script = [
      'import os, subprocess, time',
      'subprocess.run(["bash", "-c", "(true); true"])',
      'for _ in range(2):',
      '    if os.fork() == 0:',
      '        time.sleep(60)',
      'time.sleep(60)',
    ].join('\n');
    const run = await runCli(['--timeout', '4', '--', 'python3', '-c', script]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('TIMEOUT');
    expect(run.report!.error!.message).toMatch(
      /It forked 2 processes that went on without exec and are still running \(pid \d+ \(python3[^)]*\), pid \d+ \(python3[^)]*\)\): .*--fork-at-first-fork/,
    );
    expect(run.report!.error!.message).not.toMatch(/Raise --timeout if it is just slow/);
  });
});

describe('--fork-marker', () => {
  test('written by a child of the started process', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'bash', '-c', `python3 ${fixture('leaky')}; true`]);
    expect(run.exitCode).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/app.log`]);
    expect(run.report!.forkPoint.program).toMatch(/python3/);
  });

  test('an app that exits without printing it is an error', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', '-c', 'print("not ready")']);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('APP_EXITED_BEFORE_FORK_POINT');
  });

  test('a daemon: the started process exits 0 once its grandchild has taken over, which writes the marker', async () => {
    const run = await runCli(['--fork-marker', 'READY', '--', 'python3', fixture('daemonize'), 'serve']);
    expect(run.exitCode, run.stdout).toBe(1);
    expect(leakLines(run.report!)).toEqual([`file ${run.scratch}/daemon.log`]);
    expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(fixture('daemonize')));
    expect(run.kernel!.pid).toBe(run.report!.forkPoint.pid);
    expectTableMatchesKernel(run.report!.table, run.kernel!);
    // prefork-check's own tracer is the subreaper of what it traces: the daemon, killed at the end,
    // is reaped, not left a zombie holding its pid for an init that may reap late (a container's).
    if (run.report!.tool.tracer === 'native') expect(existsSync(`/proc/${run.report!.forkPoint.pid}`)).toBe(false);
  });

  test('a daemon that ends without the marker is an error at once, not a timeout', async () => {
    const run = await runCli([
      '--fork-marker',
      'READY',
      '--timeout',
      '20',
      '--',
      'python3',
      fixture('daemonize'),
      'quit',
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.report!.error!.code).toBe('APP_EXITED_BEFORE_FORK_POINT');
    expect(run.report!.error!.message).toMatch(
      /exited with status 0 before the fork point .*, and so did the processes it left running\./,
    );
    expect(run.report!.durationMs).toBeLessThan(10_000);
  });

  test('a bash app, checked through the library API against /proc while it is held', async () => {
    let kernel: KernelView | undefined;
    const report = await checkFork({
      command: [fixture('bash-app', 'app.sh')],
      forkMarker: 'READY',
      cwd: ROOT,
      onForkPoint: ({ pid }) => {
        kernel = readLiveKernelView(pid);
      },
    });
    expect(report.status).toBe('fail');
    // bash keeps its script open on fd 255: a worker forked from it would share that too.
    const leaks = report.leaks.map((leak) => `${leak.fd} ${leak.kind} ${leak.target}`);
    expect(leaks).toEqual(['7 file /etc/hostname', `255 file ${fixture('bash-app', 'app.sh')}`]);
    expectTableMatchesKernel(report.table, kernel!);
  });
});

describe('fds prefork-check itself inherited', () => {
  test('are not passed to the app, unless --inherit-fds, and then reported as inherited', async () => {
    const { execa } = await import('execa');
    // The CLI starts with an extra fd 200 without close-on-exec, as CI runners and shells leave.
    const withExtraFd = (args: string) =>
      execa('bash', ['-c', `exec 200</etc/hostname; exec node ${ROOT}/dist/cli.js ${args}`], { reject: false });
    const plain = await withExtraFd('-- bash -c "exec 200<&-; true"');
    expect(plain.exitCode, plain.stdout).toBe(0);
    const visible = await withExtraFd('-- ls /proc/self/fd');
    expect(visible.stdout.split('\n')).not.toContain('200');
    const passed = await withExtraFd('--inherit-fds -- true');
    expect(passed.exitCode).toBe(1);
    expect(passed.stdout).toMatch(
      /fd 200 +file +\/etc\/hostname\n.*\n +made by +inherited from prefork-check's parent/,
    );
    expect(passed.stdout).toMatch(/note +inherited at start from prefork-check's own caller/);
  });

  test('--inherit-fds passes a low fd too, which Node marks close-on-exec as it starts, and the app has it', async () => {
    const { execa } = await import('execa');
    const run = await execa(
      'bash',
      ['-c', `exec 7</etc/hostname; exec node ${ROOT}/dist/cli.js --inherit-fds -- bash -c 'readlink /proc/self/fd/7'`],
      { reject: false, env: { NO_COLOR: '1' } },
    );
    expect(run.stdout).toMatch(/^\/etc\/hostname$/m);
    expect(run.stdout).toMatch(/fd 7 +file +\/etc\/hostname\n.*\n +made by +inherited from prefork-check's parent/);
  });
});
