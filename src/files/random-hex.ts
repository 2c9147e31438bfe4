import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * `bytes` random bytes, as hex, from the kernel's /dev/urandom. node:crypto gives the same
 * bytes, but importing it adds ~9 ms to every start of the CLI: it is loaded only where
 * /dev/urandom cannot be read.
 */
export function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, buffer) === bytes) return buffer.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // Fall through to node:crypto.
  }
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return randomBytes(bytes).toString('hex');
}
