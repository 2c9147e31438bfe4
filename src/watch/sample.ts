import { LIVE_PROC } from '../proc/proc-view.js';
import { annotationFromLink } from '../trace/kernel-link.js';
import { kindOf, type FdKind } from '../model/open-file.js';

/** One process's fds by kind, as /proc shows them now; undefined when it is gone. */
export function countFds(pid: number): Partial<Record<FdKind, number>> | undefined {
  const fds = LIVE_PROC.fds(pid);
  if (fds.length === 0) return undefined;
  const counts: Partial<Record<FdKind, number>> = {};
  for (const { link } of fds) {
    const kind = kindOf(annotationFromLink(link), '', []);
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

export const total = (counts: Partial<Record<FdKind, number>>) =>
  Object.values(counts).reduce((sum, count) => sum + (count ?? 0), 0);
