import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { CHECK_FIELDS, fieldDescription } from '../src/options/check-fields.js';
import { ROOT } from './helpers/run-cli.js';

const OPTIONS_TS = join(ROOT, 'src/options/options.ts');

/** `node build/option-docs.mjs --check file`: its exit code and what it said. */
async function checkDocs(file: string) {
  const { exitCode, stderr } = await execa('node', ['build/option-docs.mjs', '--check', file], {
    cwd: ROOT,
    reject: false,
  });
  return { exitCode, stderr };
}

/** A copy of options.ts with `edit` applied, in a fresh directory. */
function editedCopy(edit: (source: string) => string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'option-docs-')), 'options.ts');
  copyFileSync(OPTIONS_TS, file);
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return file;
}

describe("CheckOptions' JSDoc", () => {
  test("is the field table's help, word for word (npm run option-docs)", async () => {
    expect(await checkDocs(OPTIONS_TS)).toEqual({ exitCode: 0, stderr: '' });
    const source = readFileSync(OPTIONS_TS, 'utf8').replace(/\n\s+\* /g, ' ');
    for (const key of Object.keys(CHECK_FIELDS) as (keyof typeof CHECK_FIELDS)[])
      expect(source, key).toContain(fieldDescription(key));
  });

  test('a JSDoc edited by hand, or an option the table lacks, fails the check', async () => {
    const edited = editedCopy((source) => source.replace('Working directory of the app', 'Where the app runs'));
    expect(await checkDocs(edited)).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('npm run option-docs'),
    });
    const added = editedCopy((source) => source.replace('  cwd?: string;\n', '  cwd?: string;\n  colour?: string;\n'));
    expect(await checkDocs(added)).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('CheckOptions.colour'),
    });
  });

  test("an off field reads from the option's side: false is what its flag sets", () => {
    expect(fieldDescription('attribution')).toMatch(/^On unless false\. false \(--no-attribution\): do not load/);
    expect(fieldDescription('forkMarker')).toMatch(/\. Flag: --fork-marker\.$/);
  });
});
