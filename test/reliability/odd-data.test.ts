import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT, fixture, runCli, scratch } from '../helpers/run-cli.js';

describe('odd paths reach the reports as valid documents', () => {
  test('a newline, quotes, a non-UTF-8 byte, a control character and 4,000 characters: exact in JSON, escaped in valid JUnit', async () => {
    const dir = scratch();
    const junit = join(dir, 'junit.xml');
    const run = await runCli(['--entry', fixture('odd-data'), '--fork-marker', 'READY', '--junit', junit]);
    expect(run.exitCode).toBe(1);
    const targets = run.report!.leaks.map((leak) => leak.target);
    const s = run.scratch;
    expect(targets.slice(0, 4)).toEqual([
      `${s}/line\nbreak.log`,
      `${s}/say "hi" it's <ok>.log`,
      `${s}/latin-\\xe9-byte.log`,
      `${s}/bell-\x07-ctrl.log`,
    ]);
    expect(targets[4]).toHaveLength(4000);
    expect(targets[4]).toMatch(/^.*\/x+$/);
    // The JSON file is what a reader parses: it was parsed; the table matches the kernel's.
    expect(JSON.parse(readFileSync(join(run.scratch, 'report.json'), 'utf8')).checks[0].leaks).toHaveLength(5);
    await execa('xmllint', ['--noout', '--schema', join(ROOT, 'test/schemas/junit.xsd'), junit]);
    const failures = Number((await execa('xmllint', ['--xpath', 'count(//failure)', junit])).stdout);
    let body = '';
    for (let i = 1; i <= failures; i++)
      body += (await execa('xmllint', ['--xpath', `string((//failure)[${i}])`, junit])).stdout;
    for (const text of [
      `${s}/line\\nbreak.log`,
      `${s}/say "hi" it's <ok>.log`,
      `${s}/latin-\\xe9-byte.log`,
      `${s}/bell-\\x07-ctrl.log`,
      targets[4]!,
    ]) {
      expect(body).toContain(text);
    }
  });

  test('a source file with a newline in its name: the console shows the origin and the stack escaped, on one line each', async () => {
    const dir = scratch();
    const app = join(dir, 'odd\nname.py');
    writeFileSync(app, `import os\nkept = open(os.devnull)\nprint("READY", flush=True)\nimport time; time.sleep(30)\n`);
    const run = await runCli(['--entry', app, '--fork-marker', 'READY']);
    expect(run.exitCode).toBe(1);
    expect(run.report!.leaks[0]!.origin!.file).toBe(app);
    expect(run.stdout).toContain(`origin    ${dir}/odd\\nname.py:2 in <module>`);
    expect(run.stdout).toContain(`stack     ${dir}/odd\\nname.py:2 in <module>`);
  });
});
