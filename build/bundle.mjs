// After tsc: bundles the CLI (one file and shared chunks: it starts faster than ~70 modules), and
// builds the CommonJS copy of the two entry points with .d.cts types, for require() and for
// TypeScript in CommonJS projects (node16 and node10 resolution).
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { glob } from 'tinyglobby';

const shared = { bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };

await build({
  ...shared,
  entryPoints: ['src/cli.ts'],
  format: 'esm',
  splitting: true,
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
});

await build({
  ...shared,
  entryPoints: ['src/index.ts', 'src/vitest/index.ts'],
  format: 'cjs',
  outbase: 'src',
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  // The code finds its package and the Vitest setup file from its own URL.
  banner: { js: "const import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': 'import_meta_url' },
  alias: { vitest: './build/vitest-from-commonjs.cjs' },
});

// Each declaration file again as .d.cts, its relative imports pointing at the .cjs (so .d.cts) twins.
for (const file of await glob('dist/**/*.d.ts')) {
  const text = readFileSync(file, 'utf8').replace(/((?:from |import\()['"]\.{1,2}\/[^'"]*)\.js(['"])/g, '$1.cjs$2');
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
}
