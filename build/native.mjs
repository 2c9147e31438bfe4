// After tsc: builds the native tracer (native/*.c) as static binaries for linux-x64 and
// linux-arm64 into dist/native/, with whichever of the Debian compilers are installed (gcc for
// this machine, aarch64-linux-gnu-gcc / x86_64-linux-gnu-gcc across). A missing compiler is
// said and skipped: that architecture then traces with strace.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { arch } from 'node:process';

const TARGETS = { x64: 'x86_64-linux-gnu-gcc', arm64: 'aarch64-linux-gnu-gcc' };
const FLAGS = ['-O2', '-static', '-Wall', '-Wextra', '-Werror', '-s'];
const SOURCES = readdirSync('native')
  .filter((file) => file.endsWith('.c'))
  .map((file) => `native/${file}`);

mkdirSync('dist/native', { recursive: true });
for (const [target, cross] of Object.entries(TARGETS)) {
  const compilers = target === arch ? ['cc', cross] : [cross];
  const output = `dist/native/prefork-tracer-linux-${target}`;
  const built = compilers.some((compiler) => {
    try {
      execFileSync(compiler, [...FLAGS, '-o', output, ...SOURCES], { stdio: ['ignore', 'inherit', 'inherit'] });
      return true;
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
      return false;
    }
  });
  if (!built)
    console.warn(
      `native tracer for linux-${target} not built: no ${compilers.join(' or ')} (apt-get install gcc-${target === 'arm64' ? 'aarch64' : 'x86-64'}-linux-gnu)`,
    );
}
