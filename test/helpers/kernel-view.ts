import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import { annotationFromLink } from '../../src/trace/kernel-link.js';
import { anonTarget } from '../../src/model/open-file.js';
import { parseSocketTables } from '../../src/describe/proc-net.js';
import { SOCKET_TABLES, type SocketTableTexts } from '../../src/proc/proc-view.js';
import { socketTarget } from '../../src/describe/target.js';
import type { FdRecord } from '../../src/report/types.js';

const O_CLOEXEC = 0o2000000;

/** The kernel's view of one process's fd table at the fork point: the test oracle. */
export interface KernelView {
  pid: number;
  fds: Map<number, { link: Buffer; flags: number }>;
  net: SocketTableTexts;
}

/** Reads the file fixtures/_support/kernel_view.py wrote from inside the app. */
export function readKernelViewFile(path: string): KernelView {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    pid: number;
    fds: Record<string, { link: string; flags: string }>;
    net: SocketTableTexts;
  };
  const fds = new Map(
    Object.entries(raw.fds).map(([fd, { link, flags }]) => [
      Number(fd),
      { link: Buffer.from(link, 'hex'), flags: Number.parseInt(flags, 8) },
    ]),
  );
  return { pid: raw.pid, fds, net: raw.net };
}

/** Reads a live process's table from outside, as /proc shows it. */
export function readLiveKernelView(pid: number): KernelView {
  const fds = new Map<number, { link: Buffer; flags: number }>();
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    const link = readlinkSync(`/proc/${pid}/fd/${name}`, { encoding: 'buffer' });
    const info = readFileSync(`/proc/${pid}/fdinfo/${name}`, 'latin1');
    fds.set(Number(name), { link, flags: Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)![1]!, 8) });
  }
  const net: SocketTableTexts = {};
  for (const table of SOCKET_TABLES) net[table] = readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
  return { pid, fds, net };
}

/** Unix peers are invisible in /proc/net/unix, so compare unix sockets by their bound path only. */
function comparable(target: string): string {
  if (target === 'unix socketpair' || target.startsWith('unix -> ')) return 'unix (unnamed)';
  return target;
}

/** What each fd should look like in the report, derived from the kernel alone. */
function kernelTable(view: KernelView): Map<number, { target: string; cloexec: boolean }> {
  const sockets = parseSocketTables(view.net);
  const table = new Map<number, { target: string; cloexec: boolean }>();
  for (const [fd, { link, flags }] of view.fds) {
    const annotation = annotationFromLink(link);
    let target: string;
    if (annotation.type === 'socket') {
      const known = sockets.get(annotation.inode!);
      target = known ? socketTarget({ ...known, protocol: known.protocol }) : `socket:[${annotation.inode}]`;
    } else if (annotation.type === 'path')
      target =
        annotation.deleted && !annotation.path.startsWith('/memfd:') ? `${annotation.path} (deleted)` : annotation.path;
    else if (annotation.type === 'pipe') target = `pipe:[${annotation.inode}]`;
    else if (annotation.type === 'anon') target = anonTarget(annotation.name);
    else target = annotation.text;
    table.set(fd, { target: comparable(target), cloexec: (flags & O_CLOEXEC) !== 0 });
  }
  return table;
}

/** The model's table at the fork point must be the kernel's: same fds, same targets, same close-on-exec. */
export function expectTableMatchesKernel(table: FdRecord[], view: KernelView): void {
  const model = new Map(
    table.map((record) => [record.fd, { target: comparable(record.target), cloexec: record.cloexec }]),
  );
  expect(Object.fromEntries(model)).toEqual(Object.fromEntries(kernelTable(view)));
}
