import type { Leak } from '../report/types.js';
import { excuseWords } from './excuse-words.js';

/** Where a leak was made, in one line: its origin `file:line`, or the program, syscall and target. */
export function siteOf(leak: Leak): string {
  if (leak.origin) return `${leak.origin.file}:${leak.origin.line}`;
  const creator = leak.createdBy;
  const by =
    creator.type === 'syscall' ? `${creator.syscall} in ${creator.program || `pid ${creator.pid}`}` : creator.type;
  return `${by}: ${leak.target}`;
}

/**
 * Leaks made at one site, of one kind, one verdict and one fix, in fd order: the same
 * line leaking 50 sockets is one group, reported once with its count. (One line can make fds
 * that need different fixes: a process started with spawn, and the resource tracker it starts.)
 */
export function groupBySite(leaks: Leak[]): Leak[][] {
  const groups = new Map<string, Leak[]>();
  for (const leak of leaks) {
    const key = `${leak.allowed} ${excuseWords(leak) ?? ''} ${leak.kind} ${leak.hint?.id ?? ''} ${siteOf(leak)}`;
    const group = groups.get(key);
    if (group) group.push(leak);
    else groups.set(key, [leak]);
  }
  return [...groups.values()];
}
