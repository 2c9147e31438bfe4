import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { ROOT, scratch } from './helpers/run-cli.js';

// The package as npm would install it (npm pack of the built tree), in new projects of both module
// kinds, running the README's library and Vitest examples.
let tarball: string;
let unpacked: string;

beforeAll(async () => {
  const dir = scratch();
  const { stdout } = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
    cwd: ROOT,
  });
  tarball = join(dir, stdout.trim().split('\n').at(-1)!);
  await execa('tar', ['-xzf', tarball, '-C', dir]);
  unpacked = join(dir, 'package');
}, 60_000);

const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

/** The project's TypeScript, type-checking a project as its own tsc would. */
const typecheck = (dir: string) => execa(bin('tsc'), ['-p', dir], { reject: false });

describe('the package as published', () => {
  test('its types resolve under every TypeScript module resolution (attw), and publint finds nothing', async () => {
    const attw = await execa(bin('attw'), [tarball, '--format', 'json', '--no-definitely-typed'], { reject: false });
    const analysis = JSON.parse(attw.stdout) as { analysis: { problems: unknown[] } };
    expect(analysis.analysis.problems).toEqual([]);
    expect(attw.exitCode).toBe(0);
    const publint = await execa(bin('publint'), [unpacked], { reject: false });
    expect(publint.stdout).toMatch(/All good!/);
    expect(publint.exitCode).toBe(0);
  }, 60_000);
});

/** A new project of `type` with the package and Vitest installed, a leaky app, and the README's files. */
function newProject(type: 'commonjs' | 'module'): string {
  const dir = scratch();
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `a-${type}-project`, private: true, type }));
  mkdirSync(join(dir, 'node_modules'));
  // Copied, as npm installs it (a link would resolve its imports from where it lies); its runtime
  // dependencies and Vitest, linked from ours, sit beside it as npm would hoist them.
  cpSync(unpacked, join(dir, 'node_modules', 'prefork-check'), { recursive: true });
  for (const name of ['tinyglobby', 'picomatch', 'vitest', '@types'])
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  writeFileSync(
    join(dir, 'app.py'),
    'import time\nkept = open("/etc/hostname")\nprint("READY", flush=True)\ntime.sleep(30)\n',
  );
  writeFileSync(
    join(dir, 'vitest.config.mts'),
    "import { preforkCheck } from 'prefork-check/vitest';\nimport { defineConfig } from 'vitest/config';\nexport default defineConfig({ plugins: [preforkCheck()] });\n",
  );
  mkdirSync(join(dir, 'test'));
  writeFileSync(
    join(dir, 'test', 'fork.test.ts'),
    "import { checkFork } from 'prefork-check';\nimport { expect, test } from 'vitest';\n\ntest('by hand', async () => {\n  expect(await checkFork({ entry: 'app.py', forkMarker: 'READY' })).toHaveNoLeakedFds();\n});\n",
  );
  return dir;
}

describe.each(['commonjs', 'module'] as const)('installed in a %s project', (type) => {
  test('the library loads with require or import, and a check runs with either tracer', async () => {
    const dir = newProject(type);
    const script =
      type === 'commonjs'
        ? "const { checkFork } = require('prefork-check'); const o = { entry: 'app.py', forkMarker: 'READY', appOutput: 'ignore' }; (async () => { for (const tracer of ['strace', 'native']) { const r = await checkFork({ ...o, tracer }); console.log(tracer, r.status, r.leaks.length); } })();"
        : "import { checkFork } from 'prefork-check'; const o = { entry: 'app.py', forkMarker: 'READY', appOutput: 'ignore' }; for (const tracer of ['strace', 'native']) { const r = await checkFork({ ...o, tracer }); console.log(tracer, r.status, r.leaks.length); }";
    const file = join(dir, type === 'commonjs' ? 'check.cjs' : 'check.mjs');
    writeFileSync(file, script);
    const run = await execa('node', [file], { cwd: dir, reject: false });
    // The packed package carries the native tracer, still executable.
    expect(run.stdout, run.stderr).toBe('strace fail 1\nnative fail 1');
  }, 60_000);

  test("the README's Vitest config and test run, and the leak fails the test at its line", async () => {
    const dir = newProject(type);
    const run = await execa('node', [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
      cwd: dir,
      reject: false,
      env: { NO_COLOR: '1' },
    });
    expect(run.stdout + run.stderr).toMatch(/fd 3 file \/etc\/hostname\s+made at app\.py:2 in <module>/);
    // No warning of Vite's about the config's module kind, in either kind of project.
    expect(run.stdout + run.stderr).not.toMatch(/ESM only|CommonJS|Sourcemap .* points to missing source/);
    expect(run.exitCode).toBe(1);
  }, 60_000);

  // The README's files, type-checked as the project's own TypeScript would. The test file uses the
  // matcher without importing prefork-check/vitest: the config in the same program brings its types.
  // Under node16 a CommonJS project's Vitest files must be .mts (Vitest's own types are ESM only
  // there), so that case checks the library's require types alone.
  const all = ['vitest.config.mts', 'test', 'check.ts'];
  test.each([
    { module: 'node16', moduleResolution: 'node16', files: type === 'module' ? all : ['check.ts'] },
    { module: 'esnext', moduleResolution: 'bundler', files: all },
    ...(type === 'commonjs' ? [{ module: 'commonjs', moduleResolution: 'node10', files: all }] : []),
  ])(
    "the README's files type-check with $moduleResolution resolution",
    async ({ files, ...options }) => {
      const dir = newProject(type);
      const compilerOptions = { ...options, target: 'es2022', strict: true, noEmit: true, skipLibCheck: true };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: files }));
      writeFileSync(
        join(dir, 'check.ts'),
        "import { checkFork, type Report } from 'prefork-check';\nexport const report: Promise<Report> = checkFork({ entry: 'app.py', forkMarker: 'READY' });\n",
      );
      const clean = await typecheck(dir);
      expect(clean.stdout + clean.stderr).toBe('');
      expect(clean.exitCode).toBe(0);
      // And fails where it should: the matcher given an argument it does not take, a wrong option.
      writeFileSync(
        join(dir, files.includes('test') ? 'test/wrong.test.ts' : 'check.ts'),
        files.includes('test')
          ? "import { expect } from 'vitest';\nexpect(1).toHaveNoLeakedFds(2);\n"
          : "import { checkFork } from 'prefork-check';\ncheckFork({ entry: 'app.py', forkMarker: 3 });\n",
      );
      const wrong = await typecheck(dir);
      expect(wrong.stdout).toMatch(/\(2,\d+\): error TS(2554|2322)/);
    },
    60_000,
  );

  test.runIf(type === 'module')(
    'without the config in the program, a reference to prefork-check/vitest brings the matcher types',
    async () => {
      const dir = newProject(type);
      const compilerOptions = {
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['test'] }));
      expect((await typecheck(dir)).stdout).toMatch(/Property 'toHaveNoLeakedFds' does not exist/);
      writeFileSync(join(dir, 'test', 'matchers.d.ts'), '/// <reference types="prefork-check/vitest" />\n');
      const referenced = await typecheck(dir);
      expect(referenced.stdout + referenced.stderr).toBe('');
      expect(referenced.exitCode).toBe(0);
    },
    60_000,
  );
});
