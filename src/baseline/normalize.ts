import { tmpdir } from 'node:os';
import { basename, isAbsolute, relative, sep } from 'node:path';
import type { FdRecord } from '../report/types.js';
import { stableTarget } from '../describe/target.js';
import { ephemeralPortRange, isOsPickedEnd } from '../describe/os-ports.js';

/** What varies from run to run and machine to machine: where the project and temp dirs are, which ports the OS picked. */
export interface NormalizeContext {
  projectRoot: string;
  tempDirs: string[];
  ephemeralPorts: [number, number];
}

export function normalizeContext(projectRoot: string): NormalizeContext {
  return {
    projectRoot,
    tempDirs: [...new Set([tmpdir(), '/tmp', '/var/tmp', '/dev/shm'])],
    ephemeralPorts: ephemeralPortRange(),
  };
}

/** A name a temp-file API made up: `tmpa1b2c3d4`, `prefork-check-test-AbC12x`, `pytest-12`. */
function looksGenerated(name: string): boolean {
  if (/^tmp[a-z0-9_]{8}/.test(name)) return true; // Python's tempfile
  const tail = name.split(/[-_.]/).at(-1) ?? '';
  return /^\d+$/.test(tail) || (/^[A-Za-z0-9]{6,}$/.test(tail) && /\d/.test(tail));
}

/** A path with the project as `<project>`, temp dirs as `<tmp>` (their made-up names as `*`), pids, pty numbers and O_TMPFILE inodes as `*`. */
export function normalizePath(kernelPath: string, context: NormalizeContext): string {
  // An O_TMPFILE file has no name: the kernel shows its directory and `#<inode>`, new each run.
  const path = kernelPath.replace(/\/#\d+$/, '/#*');
  const inProject = relative(context.projectRoot, path);
  if (inProject === '') return '<project>';
  if (!inProject.startsWith('..') && !isAbsolute(inProject)) return `<project>/${inProject}`;
  for (const temp of context.tempDirs) {
    if (!path.startsWith(temp + sep)) continue;
    const parts = path.slice(temp.length + 1).split(sep);
    // Directories in a temp dir are almost always made per run; so are generated file names.
    const kept = parts.map((part, i) => (i < parts.length - 1 || looksGenerated(part) ? '*' : part));
    return ['<tmp>', ...kept].join('/');
  }
  return path.replace(/^\/proc\/\d+\//, '/proc/*/').replace(/^\/dev\/pts\/\d+$/, '/dev/pts/*');
}

function normalizeEndpoint(endpoint: string, context: NormalizeContext): string {
  if (endpoint.startsWith('/')) return normalizePath(endpoint, context);
  // A port the OS picked, shown or not (`:?`).
  return isOsPickedEnd(endpoint, context.ephemeralPorts) ? endpoint.replace(/:[^:]*$/, ':*') : endpoint;
}

/** A target with what changes between runs made stable: paths as above (as opened), OS-picked ports, pipe inodes. */
export function normalizeTarget(record: FdRecord, context: NormalizeContext): string {
  if (record.socket) {
    const [family, ...rest] = record.target.split(' ');
    // `tcp LOCAL -> PEER`: a local end the OS picked is `*`, address and all (strace may show it as `?`).
    const connected = rest[1] === '->';
    const local = (part: string) =>
      isOsPickedEnd(part, context.ephemeralPorts) ? '*' : normalizeEndpoint(part, context);
    const parts = rest.map((part, i) =>
      part === '->' ? part : connected && i === 0 ? local(part) : normalizeEndpoint(part, context),
    );
    return [family, ...parts].join(' ');
  }
  if (record.kind === 'pipe') return 'pipe';
  const target = stableTarget(record);
  if (target.startsWith('/')) return normalizePath(target, context);
  return target;
}

/** Frames kept in a creation site: the innermost app frames are what a fix would touch. */
const SITE_FRAMES = 2;

/**
 * Where an fd was made, without line numbers (they move with every edit above):
 * the innermost app frames as `file:function`, else the library's `module:function`,
 * else the program and syscall (`bash:openat`), or `inherited`.
 */
export function creationSite(record: FdRecord): string[] {
  const app = record.stack.filter((frame) => !frame.library).slice(0, SITE_FRAMES);
  if (app.length > 0) return app.map((frame) => `${frame.file}:${frame.function}`);
  if (record.origin) {
    const frame = record.stack.find(
      (candidate) => candidate.line === record.origin!.line && candidate.function === record.origin!.function,
    );
    return [`${frame?.module ?? record.origin.file}:${record.origin.function}`];
  }
  const creator = record.createdBy;
  if (creator.type === 'syscall') return [`${basename(creator.program) || 'unknown'}:${creator.syscall}`];
  return [creator.type];
}
