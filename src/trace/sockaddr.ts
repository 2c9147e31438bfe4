import { bytesToText, decodeCString } from './c-string.js';

/**
 * Reads an address from strace's sockaddr syntax, in the form strace's -yy uses
 * for sockets: `127.0.0.1:8000`, `[::1]:8000`, or a unix path (`@name` when abstract).
 * Returns undefined for an address that says nothing yet (port 0, unnamed unix).
 */
export function parseSockaddr(text: string): { family: string; address: string } | undefined {
  const family = /sa_family=(\w+)/.exec(text)?.[1];
  if (family === undefined) return undefined;
  if (family === 'AF_INET' || family === 'AF_INET6') {
    const port = /sin6?_port=htons\((\d+)\)/.exec(text)?.[1];
    const host =
      family === 'AF_INET'
        ? /inet_addr\("([^"]*)"\)/.exec(text)?.[1]
        : /inet_pton\(AF_INET6, "([^"]*)"/.exec(text)?.[1];
    if (port === undefined || host === undefined) return undefined;
    return { family, address: family === 'AF_INET6' ? `[${host}]:${port}` : `${host}:${port}` };
  }
  if (family === 'AF_UNIX') {
    const path = /sun_path=(@?)"((?:[^"\\]|\\.)*)"/.exec(text);
    if (!path) return undefined;
    return { family, address: path[1] + bytesToText(decodeCString(path[2]!)) };
  }
  return { family, address: '' };
}

/** Whether an `ip:port` address names a real port (not 0, which means "pick one"). */
export function hasPort(address: string): boolean {
  return !address.endsWith(':0');
}
