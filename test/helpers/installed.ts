import { spawnSync } from 'node:child_process';

/** Whether Debian's python3 (which runs the real servers and libraries) can import `modules` (comma-separated). */
export const pythonHas = (modules: string) =>
  spawnSync('/usr/bin/python3', ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;

/** Whether Ruby can require `feature` (a gem .ci/run installs from Debian). */
export const rubyHas = (feature: string) =>
  spawnSync('ruby', ['-e', `require '${feature}'`], { stdio: 'ignore' }).status === 0;
