import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { processesWithEnv, settle } from '../helpers/processes.js';
import { runCli } from '../helpers/run-cli.js';

describe('watch --drive: a step over its 30 s limit', () => {
  // The step's command starts a long sleep of its own: the whole group must go, not only bash.
  test('is killed with its children, and the watch is an error naming the step', async () => {
    const mark = randomUUID();
    const run = await runCli(
      [
        'watch',
        '--drive',
        `WATCH_STEP=${mark} sleep 200; true`,
        '--ready-marker',
        'READY',
        '--requests',
        '3',
        '--',
        'bash',
        '-c',
        'echo READY; sleep 120',
      ],
      { env: { WATCH_STEP: mark } },
    );
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.report!.error).toEqual({
      code: 'APP_FAILED',
      message: `Step 1 failed: \`WATCH_STEP=${mark} sleep 200; true\` ran over 30 s and was killed with its children.`,
    });
    expect(await settle(() => processesWithEnv('WATCH_STEP', mark)), 'the step’s sleep left running').toEqual([]);
  }, 80_000);
});
