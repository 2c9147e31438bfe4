import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { ROOT, scratch } from './helpers/run-cli.js';

// The package as npm would install it (npm pack of the built tree), in new projects of both module
// kinds, running the README's library and Vitest examples.
let unpacked: string;

beforeAll(async () => {
  const dir = scratch();
  const { stdout } = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
    cwd: ROOT,
  });
  await execa('tar', ['-xzf', join(dir, stdout.trim().split('\n').at(-1)!), '-C', dir]);
  unpacked = join(dir, 'package');
}, 60_000);

/** A new project of `type` with the package and Vitest installed, a leaky app, and the README's files. */
function newProject(type: 'commonjs' | 'module'): string {
  const dir = scratch();
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `a-${type}-project`, private: true, type }));
  mkdirSync(join(dir, 'node_modules'));
  // Copied, as npm installs it (a link would resolve its imports from where it lies); its runtime
  // dependencies and Vitest, linked from ours, sit beside it as npm would hoist them.
  cpSync(unpacked, join(dir, 'node_modules', 'prefork-check'), { recursive: true });
  for (const name of ['tinyglobby', 'junit-report-builder', 'vitest'])
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  writeFileSync(
    join(dir, 'app.py'),
    'import time\nkept = open("/etc/hostname")\nprint("READY", flush=True)\ntime.sleep(30)\n',
  );
  writeFileSync(
    join(dir, 'vitest.config.ts'),
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
  test('the library loads with require or import, and a check runs', async () => {
    const dir = newProject(type);
    const script =
      type === 'commonjs'
        ? "const { checkFork } = require('prefork-check'); checkFork({ entry: 'app.py', forkMarker: 'READY', appOutput: 'ignore' }).then((r) => console.log(r.status, r.leaks.length));"
        : "import { checkFork } from 'prefork-check'; const r = await checkFork({ entry: 'app.py', forkMarker: 'READY', appOutput: 'ignore' }); console.log(r.status, r.leaks.length);";
    const file = join(dir, type === 'commonjs' ? 'check.cjs' : 'check.mjs');
    writeFileSync(file, script);
    const run = await execa('node', [file], { cwd: dir, reject: false });
    expect(run.stdout, run.stderr).toBe('fail 1');
  }, 60_000);

  test("the README's Vitest config and test run, and the leak fails the test at its line", async () => {
    const dir = newProject(type);
    const run = await execa('node', [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
      cwd: dir,
      reject: false,
      env: { NO_COLOR: '1', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
    expect(run.stdout + run.stderr).toMatch(/fd 3 file \/etc\/hostname\s+made at app\.py:2 in <module>/);
    expect(run.stdout + run.stderr).not.toMatch(/ESM only|Sourcemap .* points to missing source/);
    expect(run.exitCode).toBe(1);
  }, 60_000);
});
