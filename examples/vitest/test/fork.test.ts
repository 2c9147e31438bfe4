import { checkFork } from 'prefork-check';
import { defineForkChecks } from 'prefork-check/vitest';
import { expect, test } from 'vitest';

// One test per check in prefork-check.config.json.
defineForkChecks();

// Or by hand, with the matcher the plugin registers.
test('api holds nothing when started with another marker', async () => {
  const report = await checkFork({ entry: 'apps/api.py', forkMarker: 'READY', name: 'api by hand' });
  expect(report).toHaveNoLeakedFds();
});
