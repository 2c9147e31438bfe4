import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Creator } from '../model/open-file.js';
import type { Attribution } from './attributor.js';
import { BOOTSTRAP_DIR } from './bootstrap.js';
import type { RawFrame, StartRecord } from './records.js';

/** A Python frame, innermost first in a stack. `library`: the standard library or an installed package. */
export interface StackFrame {
  file: string;
  line: number;
  function: string;
  /** Dotted module name as imported: `logging`, `gunicorn.sock`, `fixtures.pkgapp.storage`. */
  module: string;
  library: boolean;
}

/** The source line that made an fd: the innermost frame of the app's own code. */
export interface Origin {
  file: string;
  line: number;
  function: string;
  /** Made inside native code (a ctypes call, sqlite3) that this line called into. */
  native: boolean;
  /** No frame of the app's own code was on the stack: this is the innermost library frame. */
  library: boolean;
}

export interface OriginFields {
  origin: Origin | null;
  stack: StackFrame[];
  /** Why origin is null, or what it means when the fd was made in native or library code. */
  originNote?: string;
}

/** Python's own code: the standard library, frozen modules, and prefork-check's bootstrap. */
function isPythonsOwn(file: string, python: StartRecord): boolean {
  if (file.startsWith('<frozen') || file.startsWith(BOOTSTRAP_DIR + sep)) return true;
  return python.stdlib !== '' && file.startsWith(python.stdlib + sep);
}

/** An installed package, or an installed console script (`/usr/bin/gunicorn`, `venv/bin/celery`) outside the project. */
function isInstalled(file: string, projectRoot: string): boolean {
  if (/[\\/](site|dist)-packages[\\/]/.test(file)) return true;
  return /[\\/]s?bin[\\/][^\\/]+$/.test(file) && relative(projectRoot, file).startsWith('..');
}

/** A co_filename made absolute against Python's start directory; `resolve` also drops the `..` of sys.path entries like `bin/../lib`. */
function absoluteFile(file: string, python: StartRecord): string {
  return file.startsWith('<') ? file : resolve(python.cwd, file); // <string>, <stdin>, <frozen ...> stay
}

/** A frame's file as the user knows it: relative to the project when inside it. */
function shownPath(absolute: string, projectRoot: string): string {
  if (absolute.startsWith('<')) return absolute;
  const fromRoot = relative(projectRoot, absolute);
  return fromRoot.startsWith('..') || isAbsolute(fromRoot) ? absolute : fromRoot;
}

interface ClassifiedFrame extends StackFrame {
  /** The standard library (not an installed package). */
  stdlib: boolean;
}

/** The module a file is imported as, from where it sits: under the stdlib, site-packages, or the project. */
function moduleOf(absolute: string, python: StartRecord, projectRoot: string): string {
  const frozen = /^<frozen (.*)>$/.exec(absolute);
  if (frozen) return frozen[1]!;
  if (absolute.startsWith('<')) return '__main__';
  const packages = /[\\/](?:site|dist)-packages[\\/](.*)$/.exec(absolute)?.[1];
  const base = packages ?? (python.stdlib !== '' && absolute.startsWith(python.stdlib + sep) ? relative(python.stdlib, absolute) : relative(projectRoot, absolute));
  return base
    .replace(/\.py[cw]?$/, '')
    .split(/[\\/]/)
    .filter((part) => part !== '' && part !== '..' && part !== '__init__')
    .join('.');
}

function stackOf(frames: RawFrame[], python: StartRecord, projectRoot: string): ClassifiedFrame[] {
  return frames.map((frame) => {
    const absolute = absoluteFile(frame.file, python);
    const stdlib = isPythonsOwn(absolute, python);
    const library = stdlib || isInstalled(absolute, projectRoot);
    const module = moduleOf(absolute, python, projectRoot);
    return { file: shownPath(absolute, projectRoot), line: frame.line, function: frame.function, module, library, stdlib };
  });
}

const PYTHON_NAME = /^python[0-9.]*$/;

/**
 * The report's origin, stack and note for one description, from its
 * attribution and creator. `projectRoot` is where paths are shown relative to.
 */
export function describeOrigin(attribution: Attribution | undefined, createdBy: Creator, projectRoot: string): OriginFields {
  if (createdBy.type === 'inherited') {
    const from = createdBy.from === 'stdio' ? 'the stdio prefork-check was started with' : "prefork-check's own caller (--inherit-fds)";
    return { origin: null, stack: [], originNote: `inherited at start from ${from}` };
  }
  if (createdBy.type === 'unknown' || attribution === undefined) {
    return { origin: null, stack: [], originNote: 'the trace never showed this fd being made' };
  }
  const { image } = attribution;
  if (attribution.type === 'recorded') {
    const python = image.python ?? { type: 'start', cwd: projectRoot, stdlib: '', executable: '' };
    const frames = stackOf(attribution.record.frames, python, projectRoot);
    const stack = frames.map(({ stdlib: _, ...frame }) => frame);
    // Code compiled from a string (`<string>`: exec, namedtuple, multiprocessing's proxies) has no
    // file to point at: the app's innermost real file says where, unless there is none (python -c).
    const own = frames.find((frame) => !frame.library && !frame.file.startsWith('<')) ?? frames.find((frame) => !frame.library);
    // With no app frame, the installed package that made it (gunicorn) says more than socket.py.
    const innermost = own ?? frames.find((frame) => !frame.stdlib) ?? frames[0];
    if (!innermost) return { origin: null, stack, originNote: `made by ${attribution.record.event} with no Python frame on the stack` };
    const native = attribution.record.native;
    const origin: Origin = { file: innermost.file, line: innermost.line, function: innermost.function, native, library: own === undefined };
    const notes = [
      ...(native ? [`made inside native code (${attribution.record.event}) called from this line`] : []),
      ...(own === undefined ? ["made inside library code: no frame of the app's own code is on the stack"] : []),
    ];
    return { origin, stack, ...(notes.length > 0 ? { originNote: notes.join('; ') } : {}) };
  }
  const made = `made by ${createdBy.syscall} in ${createdBy.program || 'the started process'}`;
  if (image.python) {
    const last = attribution.lastRecord?.frames[0];
    const hint = last ? `; the last Python call recorded in this thread was at ${shownPath(absoluteFile(last.file, image.python), projectRoot)}:${last.line}` : '';
    return { origin: null, stack: [], originNote: `${made}, in native code that no Python call announced${hint}` };
  }
  if (PYTHON_NAME.test(basename(createdBy.program))) {
    return { origin: null, stack: [], originNote: `${made} before Python ran any of the app's code (start-up, .pth files, or Python run with -I/-E/-S, which skip prefork-check's bootstrap)` };
  }
  return { origin: null, stack: [], originNote: `${made}, which is not a Python process: prefork-check names source lines for Python code only` };
}
