import { describe, expect, test } from 'vitest';
import { declaredOrigins, reportedOrigins } from './helpers/origins.js';
import { fixture, runCli } from './helpers/run-cli.js';
import { pythonHas } from './helpers/installed.js';

describe('fds a library replaces in each forked child are listed and allowed, and nothing else is', () => {
  test.runIf(pythonHas('prometheus_client'))(
    'prometheus_client in multiprocess mode: its files of the process, never one the app opens by that name',
    async () => {
      const app = fixture('prometheus-multiprocess');
      const run = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      const pid = run.report!.forkPoint.pid;
      const excused = run.report!.leaks.filter((leak) => leak.excuse?.type === 'runtime');
      // A file and the dup its map keeps, for each metric.
      expect(excused.map((leak) => leak.target.replace(/.*\/metrics\//, '')).sort()).toEqual([
        `counter_${pid}.db`,
        `counter_${pid}.db`,
        `histogram_${pid}.db`,
        `histogram_${pid}.db`,
      ]);
      expect(excused.map((leak) => leak.excuse!.label)).toEqual(excused.map(() => 'prometheus_client'));
      const counted = run.report!.leaks.filter((leak) => !leak.allowed);
      expect(counted.map((leak) => leak.target.replace(/.*\//, ''))).toEqual([`counter_${pid}.db`]);
      expect(reportedOrigins(run.report!)).toEqual(declaredOrigins(app));
      expect(run.stdout).toMatch(/allowed by prometheus_client's multiprocess file of the process that made it/);
      const clean = await runCli(['--fork-marker', 'READY', '--', '/usr/bin/python3', app, 'clean']);
      expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);
    },
  );
});
