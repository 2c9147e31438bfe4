import { isAbsolute, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';
import type { StackFrame } from '../attribution/describe-origin.js';
import { FD_KINDS, type FdKind } from '../model/open-file.js';
import { socketFamilyName, stableTarget } from '../describe/target.js';
import { ephemeralPortRange, isOsPickedEnd } from '../describe/os-ports.js';
import type { FdRecord } from '../report/types.js';

/**
 * An allow rule. A string is a glob on the target. In an object every given
 * field must match; `reason` is for the reader.
 */
export type AllowRule =
  | string
  | {
      /** The target is exactly this path. */
      path?: string;
      /** The target matches this glob (picomatch; dotfiles included). */
      glob?: string;
      /** The target is a path inside this directory. */
      under?: string;
      /** The fd is of this kind (or one of these). */
      kind?: FdKind | FdKind[];
      /** A socket of this family (`tcp`, `udp`, `unix`, ...), local address and/or port. */
      socket?: { family?: string; address?: string; port?: number };
      /** Made with this function or module on the stack: `Cache.load`, `load`, `logging`, `myapp.db:connect`. */
      createdIn?: string;
      reason?: string;
    };

// Loaded on the first glob rule: most checks have none, and every check pays for an import.
let picomatchModule: typeof picomatchType | undefined;
const picomatch = (pattern: string, options: picomatchType.PicomatchOptions) =>
  (picomatchModule ??= createRequire(import.meta.url)('picomatch') as typeof picomatchType)(pattern, options);

export interface CompiledRule {
  /** How reports name the rule: `glob /var/log/**`, `kind eventfd and createdIn asyncio`, `preset gunicorn: listening socket`. */
  label: string;
  matches(record: FdRecord): boolean;
  /** Set for a server preset's rule: reported, but not warned about when it matches nothing. */
  preset?: string;
}

export const RULE_FIELDS = ['path', 'glob', 'under', 'kind', 'socket', 'createdIn', 'reason'] as const;
export const SOCKET_FIELDS = ['family', 'address', 'port'] as const;

// The kinds whose target is a path in the file system. A pipe's `pipe:[123]`, an eventfd's
// `anon_inode:[eventfd]` and a memfd's `/memfd:name` are kernel names, never paths.
const PATH_KINDS: ReadonlySet<string> = new Set<FdKind>(['file', 'directory', 'device', 'fifo']);

/** The fd's path as it was opened, for path rules; undefined for an fd that has none (sockets, pipes, anon inodes). */
function pathOf(record: FdRecord): string | undefined {
  if (!PATH_KINDS.has(record.kind) || !record.target.startsWith('/')) return undefined;
  return stableTarget(record);
}

/** A socket's local end from its record's fields: family tcp, address 127.0.0.1, port 8000; a unix socket's path. */
function localEnd(record: FdRecord): { family: string; address?: string; port?: number } | undefined {
  const socket = record.socket;
  if (!socket) return undefined;
  const family = socketFamilyName(socket);
  if (family === 'unix') return { family, ...(socket.unixPath !== undefined ? { address: socket.unixPath } : {}) };
  // A connected socket's local end the OS picked is no part of it: strace may not have seen it.
  if (socket.peer !== undefined && isOsPickedEnd(socket.local ?? '?', ephemeralPortRange())) return { family };
  const match = socket.local === undefined ? null : /^\[?(.*?)\]?:(\d+)$/.exec(socket.local);
  if (!match) return { family };
  // Port 0: picked by the OS and never shown.
  const port = Number(match[2]);
  return { family, address: match[1]!, ...(port === 0 ? {} : { port }) };
}

/**
 * A glob on the target. One that starts with `/` is a path glob: it matches fds that have a path,
 * never a memfd's `/memfd:name`; others (`tcp 127.0.0.1:*`, `pipe*`, `**`) match any target.
 */
function globTest(pattern: string): (record: FdRecord) => boolean {
  const glob = picomatch(pattern, { dot: true });
  if (!pattern.startsWith('/')) return (record) => glob(stableTarget(record));
  return (record) => {
    const path = pathOf(record);
    return path !== undefined && glob(path);
  };
}

/** Every name a frame answers to: its function, its module and that module's packages. */
function frameNames(frame: StackFrame): Set<string> {
  const names = new Set([
    frame.function,
    frame.function.split('.').at(-1)!,
    `${frame.module}:${frame.function}`,
    `${frame.module}.${frame.function}`,
  ]);
  const parts = frame.module.split('.');
  for (let i = 1; i <= parts.length; i++) names.add(parts.slice(0, i).join('.'));
  return names;
}

/** Compiles a validated rule; `projectRoot` anchors relative paths in `path` and `under`. */
export function compileRule(rule: AllowRule, projectRoot: string): CompiledRule {
  if (typeof rule === 'string') return { label: `glob ${rule}`, matches: globTest(rule) };
  const tests: Array<(record: FdRecord) => boolean> = [];
  const labels: string[] = [];
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(projectRoot, path));
  if (rule.path !== undefined) {
    const path = absolute(rule.path);
    labels.push(`path ${rule.path}`);
    tests.push((record) => pathOf(record) === path);
  }
  if (rule.glob !== undefined) {
    labels.push(`glob ${rule.glob}`);
    tests.push(globTest(rule.glob));
  }
  if (rule.under !== undefined) {
    const dir = absolute(rule.under);
    labels.push(`under ${rule.under}`);
    tests.push((record) => {
      const path = pathOf(record);
      if (path === undefined) return false;
      const inside = relative(dir, path);
      return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside);
    });
  }
  if (rule.kind !== undefined) {
    const kinds = new Set<string>(Array.isArray(rule.kind) ? rule.kind : [rule.kind]);
    labels.push(`kind ${[...kinds].join('|')}`);
    tests.push((record) => kinds.has(record.kind));
  }
  if (rule.socket !== undefined) {
    const want = rule.socket;
    labels.push(`socket ${[want.family, want.address, want.port].filter((part) => part !== undefined).join(' ')}`);
    tests.push((record) => {
      const end = localEnd(record);
      if (!end) return false;
      if (want.family !== undefined && end.family !== want.family) return false;
      if (want.address !== undefined && end.address !== want.address) return false;
      return want.port === undefined || end.port === want.port;
    });
  }
  if (rule.createdIn !== undefined) {
    const name = rule.createdIn;
    labels.push(`createdIn ${name}`);
    tests.push((record) => record.stack.some((frame) => frameNames(frame).has(name)));
  }
  return { label: labels.join(' and '), matches: (record) => tests.every((test) => test(record)) };
}

export function isFdKind(value: unknown): value is FdKind {
  return typeof value === 'string' && (FD_KINDS as readonly string[]).includes(value);
}
