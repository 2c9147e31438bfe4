import { readdirSync, readlinkSync } from 'node:fs';
import { annotationFromLink } from '../model/kernel-link.js';
import { kindOf, type FdKind } from '../model/open-file.js';

/** One process's fds by kind, as /proc shows them now. */
export function countFds(pid: number): Partial<Record<FdKind, number>> | undefined {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const counts: Partial<Record<FdKind, number>> = {};
  for (const name of names) {
    try {
      const kind = kindOf(annotationFromLink(readlinkSync(`/proc/${pid}/fd/${name}`, { encoding: 'buffer' })), '', []);
      counts[kind] = (counts[kind] ?? 0) + 1;
    } catch {
      // Closed while we looked.
    }
  }
  return counts;
}

export const total = (counts: Partial<Record<FdKind, number>>) => Object.values(counts).reduce((sum, count) => sum + (count ?? 0), 0);
