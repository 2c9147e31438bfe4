import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import type { WatchData } from '../src/watch/watch.js';
import type { JsonReport } from '../src/reporters/json.js';

/** A watch's check as its JSON report has it. */
type WatchReport = JsonReport & { watch: WatchData };
import { declaredOrigins, reportedOrigins } from './helpers/origins.js';
import { processesWithEnv, settle, waitFor } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { CLI, fixture, runCli, scratch } from './helpers/run-cli.js';

async function watchExporter(name: string, extra: string[] = []) {
  const port = await freePort();
  const mark = randomUUID();
  const html = join(scratch(), 'watch.html');
  const run = await runCli(
    [
      'watch',
      '--request',
      `http://127.0.0.1:${port}/metrics`,
      '--requests',
      '40',
      '--html',
      html,
      ...extra,
      '--',
      'python3',
      fixture(name),
      String(port),
    ],
    {
      env: { WATCH_TEST: mark },
    },
  );
  expect(await settle(() => processesWithEnv('WATCH_TEST', mark)), 'server processes left running').toEqual([]);
  return { ...run, report: run.report as WatchReport, html: readFileSync(html, 'utf8') };
}

describe('prefork-check watch', () => {
  test('an exporter leaking a socket per request: ~1 socket per request, at the line that makes it', async () => {
    const run = await watchExporter('exporter');
    expect(run.exitCode).toBe(1);
    const [server] = run.report.watch.processes;
    expect(server!.growthPerStep).toBeCloseTo(1, 1);
    expect(reportedOrigins(run.report)).toEqual(declaredOrigins(fixture('exporter')));
    expect(run.report.leaks.filter((leak) => !leak.allowed).every((leak) => leak.kind === 'socket')).toBe(true);
    expect(run.stdout).toMatch(/1\.00 fds\/step/);
    // The chart's data: the socket count climbs by one per step after warm-up.
    const values = /data-kind="socket" data-values="([\d,]+)"/.exec(run.html)![1]!.split(',').map(Number);
    expect(values).toHaveLength(40);
    expect(values.at(-1)! - values[3]!).toBe(36);
    // A page to act on: the verdict, the line that made the sockets, the warm-up and both axes labelled.
    expect(run.html).toContain('<p class="verdict">FAIL: fds grow by more than 0 per step</p>');
    const [origin] = declaredOrigins(fixture('exporter'));
    const [file, line] = origin!.split(' ')[0]!.split(':');
    expect(run.html).toContain(`made at <code>${file}:${line}</code>`);
    expect(run.html).toMatch(/<rect class="warmup" /);
    expect(run.html).toMatch(/text-anchor="middle">40<\/text>/);
    expect(run.html).toMatch(/text-anchor="end">0<\/text>/);
  });

  test('its fixed version: no growth, and the watch passes', async () => {
    const run = await watchExporter('exporter-fixed');
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.report.watch.processes[0]!.growthPerStep).toBe(0);
    expect(run.report.leaks.filter((leak) => !leak.allowed)).toEqual([]);
    expect(run.html).toContain('<p class="verdict">PASS: no process gained more than 0 fds per step</p>');
  });

  test('--max-growth allows a known rate', async () => {
    const run = await watchExporter('exporter', ['--max-growth', '1.5']);
    expect(run.exitCode).toBe(0);
    expect(run.report.leaks.every((leak) => leak.allowedBy === 'watch: growth within --max-growth 1.5')).toBe(true);
  });

  test('--drive runs a command per step; --ready-marker says when to start', async () => {
    const port = await freePort();
    const mark = randomUUID();
    // A GET in plain bash, as any load script would do it its own way.
    const get = `exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3 >/dev/null`;
    const run = await runCli(
      [
        'watch',
        '--drive',
        get,
        '--ready-marker',
        'READY',
        '--requests',
        '20',
        '--',
        'python3',
        fixture('exporter'),
        String(port),
      ],
      {
        env: { WATCH_TEST: mark },
      },
    );
    expect(await settle(() => processesWithEnv('WATCH_TEST', mark))).toEqual([]);
    const report = run.report as WatchReport;
    expect(run.exitCode, run.stdout).toBe(1);
    expect(report.watch.driver).toBe(get);
    expect(report.watch.processes[0]!.growthPerStep).toBeCloseTo(1, 1);
  });

  test('what a --drive step starts in a session of its own (setsid) is killed with the step', async () => {
    const mark = randomUUID();
    const run = await runCli([
      'watch',
      '--drive',
      `setsid bash -c 'DRIVER_CHILD=${mark} sleep 120' & sleep 0.2`,
      '--ready-marker',
      'READY',
      '--requests',
      '2',
      '--',
      'bash',
      '-c',
      'echo READY; sleep 120',
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(await settle(() => processesWithEnv('DRIVER_CHILD', mark)), 'the setsid child left running').toEqual([]);
  });

  test('a --drive step that fails put no load on the server: exit 2, naming the step and its status', async () => {
    const run = await runCli([
      'watch',
      '--drive',
      'exit 7',
      '--ready-marker',
      'READY',
      '--requests',
      '3',
      '--',
      'bash',
      '-c',
      'echo READY; sleep 30',
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.report!.error).toEqual({ code: 'APP_FAILED', message: 'Step 1 failed: `exit 7` exited with status 7.' });
    // The steps that ran, not the ones asked for.
    expect((run.report as WatchReport).watch.steps).toBe(0);
    expect(run.report!.forkPoint.description).toMatch(/^0 of 3 steps of exit 7/);
  });

  test('--trace-out saves the whole trace of the watch, and nothing else appears beside it', async () => {
    const dir = scratch();
    const trace = join(dir, 'watch.trace');
    const run = await runCli([
      'watch',
      '--drive',
      'true',
      '--ready-marker',
      'READY',
      '--requests',
      '2',
      '--trace-out',
      trace,
      '--',
      'bash',
      '-c',
      'exec 7</etc/hostname; echo READY; sleep 30',
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    // The file opened, as the argument (strace) or as the fd's target (our tracer: `= 7</etc/hostname<ino 1234>>`).
    expect(readFileSync(trace, 'latin1')).toMatch(
      /^\d+ +execve\("\/usr\/bin\/bash".*\n(.*\n)*\d+ +openat\(.*\/etc\/hostname/,
    );
    expect(readdirSync(dir)).toEqual(['watch.trace']);
  });

  test('bad use is exit 2 with one line', async () => {
    const both = await runCli(['watch', '--request', 'http://127.0.0.1:1/', '--drive', 'true', '--', 'true']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/^prefork-check: Give one load driver: `--request <url>` or `--drive <command>`\.$/);
    const misplaced = await runCli(['--request', 'http://127.0.0.1:1/', '--', 'true']);
    expect(misplaced.stderr).toMatch(/`--request` is for `prefork-check watch`/);
  });
});

describe('prefork-check watch on a worker pool', () => {
  test('a file per task kept by the pool workers: the workers grow, at the task’s line', async () => {
    const port = await freePort();
    const mark = randomUUID();
    const run = await runCli(
      [
        'watch',
        '--request',
        `http://127.0.0.1:${port}/`,
        '--requests',
        '30',
        '--ready-marker',
        'READY',
        '--',
        'python3',
        fixture('task-pool'),
        String(port),
      ],
      {
        env: { WATCH_TEST: mark },
      },
    );
    expect(await settle(() => processesWithEnv('WATCH_TEST', mark))).toEqual([]);
    const report = run.report as WatchReport;
    expect(run.exitCode, run.stdout).toBe(1);
    const growth = report.watch.processes.map((process) => process.growthPerStep);
    // The server itself does not grow; its two workers share the tasks between them.
    expect(report.watch.processes).toHaveLength(3);
    expect(growth.reduce((sum, each) => sum + each, 0)).toBeCloseTo(1, 1);
    expect(reportedOrigins(report)).toEqual(declaredOrigins(fixture('task-pool')));
  });
});

describe('Ctrl-C during a step', () => {
  test('a GET the server never answers is given up at once: exit 130, nothing left running', async () => {
    const port = await freePort();
    const mark = randomUUID();
    const watching = execa(
      'node',
      [
        CLI,
        'watch',
        '--request',
        `http://127.0.0.1:${port}/`,
        '--ready-marker',
        'READY',
        '--',
        'python3',
        fixture('silent-server'),
        String(port),
      ],
      { reject: false, env: { WATCH_TEST: mark }, stdin: 'ignore' },
    );
    // Until the GET is in flight: the server's side of a connection is established.
    expect(await waitFor(() => connectedTo(port))).toBe(true);
    const interrupted = Date.now();
    watching.kill('SIGINT');
    const run = await watching;
    expect(run.exitCode).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(1500);
    expect(await settle(() => processesWithEnv('WATCH_TEST', mark)), 'server processes left running').toEqual([]);
  });
});

/** Whether a TCP connection to 127.0.0.1:`port` is established (the kernel's table). */
function connectedTo(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === local && fields[3] === '01';
    });
}
