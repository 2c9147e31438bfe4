import { replacedInChildrenWords } from '../check/replaced-in-children.js';
import type { Leak } from '../report/types.js';

/**
 * What excused a leak, in the words every reporter uses (and JSON's `allowedBy`): `glob **\/app.log`,
 * `baseline`, `closed by the worker (pid 12) at gunicorn.conf.py:7 in post_fork`. Undefined when nothing did.
 */
export function excuseWords(leak: Leak): string | undefined {
  const excuse = leak.excuse;
  if (!excuse) return undefined;
  switch (excuse.type) {
    case 'rule':
    case 'preset':
      return excuse.label;
    case 'baseline':
      return 'baseline';
    case 'stdio':
      return `a duplicate of the app's ${excuse.label}, which workers share anyway`;
    case 'runtime':
      return replacedInChildrenWords(excuse.label);
    case 'watch':
      return `watch: growth within --max-growth ${excuse.label}`;
    case 'worker': {
      const closed = leak.closedInWorker;
      const by = `closed by the worker (pid ${excuse.label})`;
      if (closed?.origin) return `${by} at ${closed.origin.file}:${closed.origin.line} in ${closed.origin.function}`;
      return closed?.syscall ? `${by} with ${closed.syscall}()` : by;
    }
  }
}
