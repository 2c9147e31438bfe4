import { fileURLToPath } from 'node:url';

/** The setup file that registers `toHaveNoLeakedFds` in every test file. */
const SETUP_FILE = fileURLToPath(new URL('./setup.js', import.meta.url));

/**
 * Vitest plugin: `plugins: [preforkCheck()]` in vitest.config makes
 * `expect(report).toHaveNoLeakedFds()` available in every test file.
 */
export function preforkCheck(): { name: string; config: () => { test: { setupFiles: string[] } } } {
  return {
    name: 'prefork-check',
    config: () => ({ test: { setupFiles: [SETUP_FILE] } }),
  };
}
