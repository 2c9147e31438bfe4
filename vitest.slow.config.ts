import { defineConfig } from 'vitest/config';

// The slow suite: real pre-fork servers from Debian packages, and tests at scale.
// Separate from `npm test`; CI runs both.
export default defineConfig({
  test: {
    include: ['test/servers/**/*.test.ts', 'test/**/*.slow.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
