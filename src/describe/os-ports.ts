import { readFileSync } from 'node:fs';

let range: [number, number] | undefined;

/** The range the OS picks ports from (a bind to port 0, a connect without a bind): `ip_local_port_range`, read once. */
export function ephemeralPortRange(): [number, number] {
  return (range ??= readRange());
}

function readRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // Not Linux-like /proc: the kernel's default range.
  }
  return [32768, 60999];
}

/**
 * Whether a connected socket's local end (`127.0.0.1:43210`, `[::1]:43210`, `?`, `10.0.0.5:?` or `:0`) is
 * one the OS picked. strace sees such an end only if the fd is used again or the app still runs
 * when the table is described, so no excuse may depend on it.
 */
export function isOsPickedEnd(end: string, range: [number, number]): boolean {
  if (end === '?' || end.endsWith(':?') || end.endsWith(':0')) return true;
  const port = Number(/:(\d+)$/.exec(end)?.[1]);
  return port >= range[0] && port <= range[1];
}
