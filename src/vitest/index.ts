// prefork-check/vitest: fork checks as Vitest tests.
export { defineForkChecks, forkChecks, type ForkChecksOptions } from './define-fork-checks.js';
export { matchers, describeFailure } from './matchers.js';
export { preforkCheck } from './plugin.js';
