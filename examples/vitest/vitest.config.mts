import { preforkCheck } from 'prefork-check/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [preforkCheck()],
  test: { include: ['test/**/*.test.ts'] },
});
