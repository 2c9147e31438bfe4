import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Creator } from '../model/open-file.js';
import { madeInNativeCode, type Attribution } from './attributor.js';
import { BOOTSTRAP_DIR, RUBY_BOOTSTRAP } from './bootstrap.js';
import type { RawFrame, Runtime, StartRecord } from './records.js';

/** A Python or Ruby frame, innermost first in a stack. `library`: the standard library or an installed package or gem. */
export interface StackFrame {
  file: string;
  line: number;
  function: string;
  /** The module as the code names it: Python's dotted import name (`logging`, `gunicorn.sock`), Ruby's require path (`unicorn/http_server`). */
  module: string;
  library: boolean;
}

/**
 * The frames that made the fd: those the app's innermost frame called, not the library that
 * called the app's code (a loader importing it: Celery's through kombu); all of them when no
 * frame is the app's.
 */
export function makingFrames(stack: StackFrame[]): StackFrame[] {
  const app = stack.findIndex((frame) => !frame.library);
  return app < 0 ? stack : stack.slice(0, app);
}

/** The source line that made an fd: the innermost frame of the app's own code. */
export interface Origin {
  file: string;
  line: number;
  function: string;
  /** Made inside native code (a ctypes call, sqlite3) that this Python line called into. */
  native: boolean;
  /** For a native origin: the call it was made in (`sqlite3`, `ctypes`, `dbm`; Ruby: the gem). */
  call?: string;
  /** No frame of the app's own code was on the stack: this is the innermost library frame. */
  library: boolean;
}

export interface OriginFields {
  origin: Origin | null;
  stack: StackFrame[];
  /** Why origin is null, or what it means when the fd was made in native or library code. */
  originNote?: string;
  /** Made by the interpreter's own start-up, before any of the app's code (and the bootstrap) ran. */
  runtimeStartup?: Runtime;
  /** The native stack of the syscall that made it, innermost first (with native stacks on). */
  nativeStack?: string[];
}

const LANGUAGE: Record<Runtime, string> = { python: 'Python', ruby: 'Ruby' };

/** The language's own code: its standard library, its internal frames, and prefork-check's bootstraps. */
function isRuntimesOwn(file: string, started: StartRecord): boolean {
  if (
    file.startsWith('<frozen') ||
    file.startsWith('<internal:') ||
    file.startsWith(BOOTSTRAP_DIR + sep) ||
    file === RUBY_BOOTSTRAP
  )
    return true;
  return started.stdlib !== '' && file.startsWith(started.stdlib + sep);
}

/** Where installed packages and gems live: pip's and Debian's, RubyGems', Bundler's and Debian's Ruby. */
const INSTALLED = /[\\/]((site|dist)-packages|gems|vendor_ruby|rubygems-integration)[\\/]/;

/** What marks a directory as an environment packages are installed into: a venv, a conda env, Bundler's or RubyGems' path. */
const ENVIRONMENT_MARKS = ['pyvenv.cfg', 'conda-meta', 'gems'];
const environmentBins = new Map<string, boolean>();

/** A `bin` directory of such an environment, even inside the project (`.venv/bin`, `vendor/bundle/ruby/3.1.0/bin`). */
function isEnvironmentBin(dir: string): boolean {
  let known = environmentBins.get(dir);
  if (known === undefined) {
    known = ENVIRONMENT_MARKS.some((mark) => existsSync(join(dirname(dir), mark)));
    environmentBins.set(dir, known);
  }
  return known;
}

/** An installed command (`/usr/bin/gunicorn`, `.venv/bin/celery`): in a bin directory outside the project or of an environment. */
function isInstalledCommand(file: string, projectRoot: string): boolean {
  if (!/[\\/]s?bin[\\/][^\\/]+$/.test(file)) return false;
  return relative(projectRoot, file).startsWith('..') || isEnvironmentBin(dirname(file));
}

/** A frame's file made absolute against the start directory; `resolve` also drops the `..` of sys.path entries like `bin/../lib`. */
function absoluteFile(file: string, started: StartRecord): string {
  return file.startsWith('<') ? file : resolve(started.cwd, file); // <string>, <stdin>, <frozen ...>, <internal:...> stay
}

/** A frame's file as the user knows it: relative to the project when inside it. */
function shownPath(absolute: string, projectRoot: string): string {
  if (absolute.startsWith('<')) return absolute;
  const fromRoot = relative(projectRoot, absolute);
  return fromRoot.startsWith('..') || isAbsolute(fromRoot) ? absolute : fromRoot;
}

interface ClassifiedFrame extends StackFrame {
  /** The language's own code (not an installed package). */
  stdlib: boolean;
}

/**
 * The path of a file below where its language loads code from: site-packages, a gem's lib, the
 * stdlib, or the project. An installed command's script, or a file elsewhere (a tool's own tree),
 * loads from where is unknown: its file's name.
 */
function loadPath(absolute: string, started: StartRecord, projectRoot: string, command: boolean): string {
  const installed =
    /[\\/](?:(?:site|dist)-packages|gems[\\/][^\\/]+[\\/]lib|vendor_ruby(?:[\\/]\d+\.\d+\.\d+)?)[\\/](.*)$/.exec(
      absolute,
    )?.[1];
  if (installed !== undefined) return installed;
  if (started.stdlib !== '' && absolute.startsWith(started.stdlib + sep)) return relative(started.stdlib, absolute);
  const fromRoot = relative(projectRoot, absolute);
  return command || fromRoot.startsWith('..') || isAbsolute(fromRoot) ? basename(absolute) : fromRoot;
}

/** The module a file is loaded as, from where it sits. */
function moduleOf(absolute: string, started: StartRecord, projectRoot: string, command: boolean): string {
  const frozen = /^<frozen (.*)>$/.exec(absolute);
  if (frozen) return frozen[1]!;
  if (absolute.startsWith('<')) return started.runtime === 'ruby' ? absolute : '__main__';
  const parts = loadPath(absolute, started, projectRoot, command)
    .replace(/\.(py[cw]?|rb)$/, '')
    .split(/[\\/]/)
    .filter((part) => part !== '' && part !== '..' && part !== '__init__');
  return parts.join(started.runtime === 'ruby' ? '/' : '.');
}

/**
 * The innermost frame of the app's own code. Code compiled from a string (`<string>`: exec,
 * namedtuple, multiprocessing's proxies) has no file to point at: the app's innermost real file
 * says where, unless there is none (python -c).
 */
function ownFrame(frames: ClassifiedFrame[]): ClassifiedFrame | undefined {
  return (
    frames.find((frame) => !frame.library && !frame.file.startsWith('<')) ?? frames.find((frame) => !frame.library)
  );
}

function stackOf(frames: RawFrame[], started: StartRecord, projectRoot: string): ClassifiedFrame[] {
  return frames.map((frame) => {
    const absolute = absoluteFile(frame.file, started);
    const stdlib = isRuntimesOwn(absolute, started);
    const command = isInstalledCommand(absolute, projectRoot);
    const library = stdlib || command || INSTALLED.test(absolute);
    const module = moduleOf(absolute, started, projectRoot, command);
    return {
      file: shownPath(absolute, projectRoot),
      line: frame.line,
      function: frame.function,
      module,
      library,
      stdlib,
    };
  });
}

const INTERPRETERS: Array<[RegExp, string]> = [
  [/^python[0-9.]*$/, "Python run with -I/-E/-S, which skip prefork-check's bootstrap"],
  [/^ruby[0-9.]*$/, "ruby run with --disable-rubyopt, which skips prefork-check's bootstrap"],
];

/**
 * The report's origin, stack and note for one description, from its
 * attribution and creator. `projectRoot` is where paths are shown relative to.
 */
export function describeOrigin(
  attribution: Attribution | undefined,
  createdBy: Creator,
  projectRoot: string,
): OriginFields {
  if (createdBy.type === 'inherited') {
    const from =
      createdBy.from === 'stdio'
        ? 'the stdio prefork-check was started with'
        : "prefork-check's own caller (--inherit-fds)";
    return { origin: null, stack: [], originNote: `inherited at start from ${from}` };
  }
  if (createdBy.type === 'unknown' || attribution === undefined) {
    return { origin: null, stack: [], originNote: 'the trace never showed this fd being made' };
  }
  const { image } = attribution;
  if (attribution.type === 'recorded') {
    const started = image.started ?? { type: 'start', runtime: 'python', cwd: projectRoot, stdlib: '', executable: '' };
    const frames = stackOf(attribution.record.frames, started, projectRoot);
    const stack = frames.map(({ stdlib: _, ...frame }) => frame);
    const made = ownFrame(frames);
    // Made by a library's code in a thread the library started (a client's monitor): the app's
    // line is where that thread, or the thread that started it, was started.
    const startedAt =
      made === undefined
        ? (attribution.threadStarts ?? [])
            .map((start) => ownFrame(stackOf(start.frames, started, projectRoot)))
            .find((frame) => frame !== undefined)
        : undefined;
    const own = made ?? startedAt;
    // With no app frame, the installed package that made it (gunicorn) says more than socket.py.
    const innermost = own ?? frames.find((frame) => !frame.stdlib) ?? frames[0];
    if (!innermost)
      return {
        origin: null,
        stack,
        originNote: `made by ${attribution.record.event} with no ${LANGUAGE[started.runtime]} frame on the stack`,
      };
    const call = madeInNativeCode(attribution.record);
    const inThread = attribution.inThread === true;
    const origin: Origin = {
      file: innermost.file,
      line: innermost.line,
      function: innermost.function,
      native: call || inThread,
      ...(call && !inThread ? { call: attribution.record.event } : {}),
      library: own === undefined,
    };
    const maker = frames.find((frame) => !frame.stdlib) ?? frames[0];
    const notes = [
      ...(startedAt !== undefined && !inThread && maker
        ? [`made by library code (${maker.module}:${maker.function}) in a thread started from this line`]
        : []),
      ...(inThread
        ? ['made by native code in a thread started from this line; no call in that thread announced it']
        : []),
      ...(call && !inThread ? [`made inside native code (${attribution.record.event}) called from this line`] : []),
      ...(own === undefined ? ["made inside library code: no frame of the app's own code is on the stack"] : []),
    ];
    return { origin, stack, ...(notes.length > 0 ? { originNote: notes.join('; ') } : {}) };
  }
  const made = `made by ${createdBy.syscall} in ${createdBy.program || 'the started process'}`;
  const startup = `before the interpreter ran any of the app's code`;
  if (image.started && !attribution.bootstrapped) {
    return {
      origin: null,
      stack: [],
      originNote: `${made} ${startup} (its own start-up)`,
      runtimeStartup: image.started.runtime,
    };
  }
  if (image.started && attribution.afterFork) {
    return {
      origin: null,
      stack: [],
      originNote: `${made} in a forked child before any ${LANGUAGE[image.started.runtime]} call of its own was recorded: the interpreter or a library re-initialising itself after the fork`,
      runtimeStartup: image.started.runtime,
    };
  }
  if (image.started) {
    const language = LANGUAGE[image.started.runtime];
    const last = attribution.lastRecord?.frames[0];
    const hint = last
      ? `; the last ${language} call recorded in this thread was at ${shownPath(absoluteFile(last.file, image.started), projectRoot)}:${last.line}`
      : '';
    return { origin: null, stack: [], originNote: `${made}, in native code that no ${language} call announced${hint}` };
  }
  const interpreter = INTERPRETERS.find(([name]) => name.test(basename(createdBy.program)));
  if (interpreter) {
    return { origin: null, stack: [], originNote: `${made} ${startup} (its start-up, or ${interpreter[1]})` };
  }
  return {
    origin: null,
    stack: [],
    originNote: `${made}, which is neither a Python nor a Ruby process: prefork-check names source lines for Python and Ruby code only`,
  };
}
