import type { Annotation } from './annotation.js';
import { bytesToText } from './c-string.js';

/**
 * Reads the kernel's own name for an fd (the `/proc/PID/fd/N` link) as the
 * same kind of annotation strace prints: `/path`, `pipe:[ino]`, `socket:[ino]`,
 * `anon_inode:[eventfd]`.
 */
export function annotationFromLink(link: Buffer): Annotation {
  const text = bytesToText(link);
  if (text.startsWith('/')) {
    const deleted = text.endsWith(' (deleted)');
    return { type: 'path', path: deleted ? text.slice(0, -10) : text, deleted };
  }
  const match = /^([a-z_]+):(?:\[(.*)\]|(.*))$/.exec(text);
  if (!match) return { type: 'other', text };
  const [, kind, bracketed, bare] = match;
  if (kind === 'pipe') return { type: 'pipe', inode: Number(bracketed) };
  if (kind === 'socket') return { type: 'socket', protocol: 'socket', inode: Number(bracketed) };
  if (kind === 'anon_inode') return { type: 'anon', name: bracketed ?? bare ?? '' };
  return { type: 'other', text };
}
