import type { Report } from '../../src/report/types.js';
import type { KernelView } from './kernel-view.js';

/** The fork point's fds (beyond stdio) whose file the worker's own table no longer has: the kernel's answer. */
export function closedByKernel(master: KernelView, worker: KernelView): number[] {
  const held = new Set([...worker.fds.values()].map((fd) => fd.link.toString('latin1')));
  return [...master.fds]
    .filter(([fd, { link }]) => fd > 2 && !held.has(link.toString('latin1')))
    .map(([fd]) => fd)
    .sort((a, b) => a - b);
}

/** The fds a report lists as closed by the worker before it served. */
export const closedFds = (report: Report) => report.leaks.filter((leak) => leak.closedInWorker).map((leak) => leak.fd);
