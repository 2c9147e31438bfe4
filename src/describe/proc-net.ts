import type { SocketTableTexts } from '../proc/proc-view.js';

/** A socket as the kernel's /proc/net tables describe it. */
export interface KernelSocket {
  protocol: 'TCP' | 'TCPv6' | 'UDP' | 'UDPv6' | 'UNIX';
  local?: string;
  peer?: string;
  listening?: boolean;
  unixPath?: string;
}

function ipv4(hex: string): string {
  const value = Number.parseInt(hex, 16);
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24].join('.');
}

function ipv6(hex: string): string {
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const chunk = hex.slice(word * 8, word * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(chunk.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

function endpoint(text: string, v6: boolean): string {
  const [host = '', port = '0'] = text.split(':');
  const portNumber = Number.parseInt(port, 16);
  return v6 ? `[${ipv6(host)}]:${portNumber}` : `${ipv4(host)}:${portNumber}`;
}

function rows(texts: SocketTableTexts, name: keyof SocketTableTexts): string[] {
  return (texts[name] ?? '').split('\n').slice(1);
}

const TCP_LISTEN = '0A';
const UNCONNECTED = '00000000:0000';

/** Parses the text of /proc/PID/net/{tcp,tcp6,udp,udp6,unix}. */
export function parseSocketTables(texts: SocketTableTexts): Map<number, KernelSocket> {
  const sockets = new Map<number, KernelSocket>();
  const inet: Array<[keyof SocketTableTexts, KernelSocket['protocol'], boolean]> = [
    ['tcp', 'TCP', false],
    ['tcp6', 'TCPv6', true],
    ['udp', 'UDP', false],
    ['udp6', 'UDPv6', true],
  ];
  for (const [file, protocol, v6] of inet) {
    for (const line of rows(texts, file)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const [, local = '', remote = '', state = ''] = fields;
      const inode = Number(fields[9]);
      if (!inode) continue;
      const zeroRemote = /^0+:0000$/.test(remote) || remote === UNCONNECTED;
      const listening = protocol.startsWith('TCP') ? state === TCP_LISTEN : undefined;
      sockets.set(inode, {
        protocol,
        local: endpoint(local, v6),
        ...(zeroRemote ? {} : { peer: endpoint(remote, v6) }),
        ...(listening ? { listening } : {}),
      });
    }
  }
  for (const line of rows(texts, 'unix')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 7) continue;
    const inode = Number(fields[6]);
    if (!inode) continue;
    const path = fields.slice(7).join(' ');
    sockets.set(inode, { protocol: 'UNIX', ...(path ? { unixPath: path } : {}) });
  }
  return sockets;
}
