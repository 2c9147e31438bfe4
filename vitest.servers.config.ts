import { defineConfig } from 'vitest/config';

// Real pre-fork servers from Debian packages: slower, and separate from `npm test`.
export default defineConfig({
  test: {
    include: ['test/servers/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
