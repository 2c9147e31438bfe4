// What `vitest` is inside the CommonJS build of prefork-check/vitest. Vitest cannot be required
// (its require entry throws), and a CommonJS project's vitest.config.ts requires the plugin, which
// needs none of it. The rest runs in test files, which Vitest always loads as ES modules.
const unavailable = () => {
  throw new Error(
    'prefork-check/vitest: defineForkChecks runs in Vitest test files, loaded as ES modules; import it there instead of requiring it.',
  );
};
module.exports = {
  get test() {
    return unavailable();
  },
  get expect() {
    return unavailable();
  },
};
