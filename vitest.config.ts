import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers and tests at scale run separately (npm run test:slow), and so does the arm64
    // machine (npm run test:arm64).
    exclude: ['test/servers/**', 'test/**/*.slow.test.ts', 'test/arm64/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
