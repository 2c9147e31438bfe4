import { defineConfig } from 'vitest/config';

// The arm64 tracer on an emulated arm64 machine (test/arm64/image.sh builds it): one boot runs
// every check there, so the suite's one hook has the time the whole machine takes.
export default defineConfig({
  test: {
    include: ['test/arm64/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30 * 60_000,
  },
});
