import { randomHex } from './random-hex.js';
import {
  accessSync,
  closeSync,
  constants,
  createWriteStream,
  existsSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  type Stats,
  type WriteStream,
} from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PreforkCheckError } from '../errors.js';

function refuse(what: string, file: string, why: string, cause?: unknown): never {
  throw new PreforkCheckError(
    'REPORT_WRITE_FAILED',
    `Cannot write ${what} ${file}: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The directories above `path` that do not exist yet, outermost first. */
function missingDirs(path: string): string[] {
  const missing: string[] = [];
  for (let dir = dirname(path); !lstatExists(dir) && dirname(dir) !== dir; dir = dirname(dir)) missing.unshift(dir);
  return missing;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a fifo';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * The /proc/PID/fd/N link a path leads to, if it does (/dev/stderr, /dev/fd/5): writing there
 * through a temp file would replace whatever that descriptor is open on.
 */
function openDescriptor(path: string): string | undefined {
  for (let hops = 0; hops < 40; hops++) {
    let here: string;
    try {
      here = join(realpathSync(dirname(path)), basename(path));
    } catch {
      return undefined;
    }
    if (/^\/proc\/[^/]+\/fd\/\d+$/.test(here)) return here;
    try {
      if (!lstatSync(here).isSymbolicLink()) return undefined;
      path = resolve(dirname(here), readlinkSync(here));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Where `file` is really written: a symlink's target (the user's file stays a
 * symlink), or the path itself for a new file. Refuses what must never be
 * replaced: a device, fifo, socket or directory, and a symlink to nowhere.
 */
export function outputTarget(file: string, what = 'the report'): string {
  if (file.trim() === '') refuse(what, JSON.stringify(file), 'the path is empty.');
  // resolve() would drop the slash and write a file where a directory was meant.
  if (file.endsWith('/')) refuse(what, file, 'it ends with "/", which names a directory; give the path of a file.');
  let path = resolve(file);
  let link: Stats | undefined;
  try {
    link = lstatSync(path);
  } catch {
    link = undefined;
  }
  const descriptor = openDescriptor(path);
  if (descriptor !== undefined)
    refuse(what, file, `it is an open file descriptor (${descriptor}); give the path of a file, or - for stdout.`);
  if (link?.isSymbolicLink() && !existsSync(path)) {
    // A symlink to a file not made yet (a first baseline): the file is made where it points.
    path = resolve(dirname(path), readlinkSync(path));
    if (lstatExists(path)) refuse(what, file, 'it is a symlink that leads to another symlink to nowhere.');
    link = undefined;
  }
  if (link) {
    try {
      // The kernel's view first: /dev/stdout leads through /proc/self/fd to a pipe, which no path names.
      const stats = statSync(path);
      if (!stats.isFile()) refuse(what, file, `it is ${kindOf(stats)}; give the path of a regular file.`);
      return realpathSync.native(path);
    } catch (error) {
      if (error instanceof PreforkCheckError) throw error;
      refuse(what, file, `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, error);
    }
  }
  // Missing directories are made when it is written (`reports/junit.xml`): the nearest one there must take them.
  const dir = dirname(missingDirs(path)[0] ?? path);
  try {
    if (!statSync(dir).isDirectory()) refuse(what, file, `${dir} is not a directory.`);
    accessSync(dir, constants.W_OK);
    // Permission bits say yes in /proc and /sys too, where no file can be made: make one to know.
    const probe = join(dir, `.prefork-check-probe-${randomHex(6)}`);
    closeSync(openSync(probe, 'wx'));
    rmSync(probe);
  } catch (error) {
    if (error instanceof PreforkCheckError) throw error;
    refuse(
      what,
      file,
      `no file can be made in the directory ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
      error,
    );
  }
  return path;
}

/** `outputTarget`, with the directories it needs made. */
function preparedOutput(file: string, what = 'the report'): string {
  const target = outputTarget(file, what);
  try {
    // One level at a time: Node's recursive mkdir never returns under /proc.
    for (const dir of missingDirs(target)) mkdirSync(dir);
  } catch (error) {
    refuse(
      what,
      file,
      `cannot make its directory: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      error,
    );
  }
  return target;
}

/** Fails early, before the app runs, when a report could not be written at the end; makes its directories. */
export function assertWritable(file: string, what = 'the report'): void {
  preparedOutput(file, what);
}

/**
 * An output file written through a new temp file beside it, created exclusively under a random
 * name (a planted file or symlink there makes it fail, never followed), then renamed over the
 * target: readers see the old file or the new one, never half. Written whole (a report) or line by
 * line as a run goes (the trace).
 */
export class AtomicFile {
  private readonly stream: WriteStream;
  private failed: Error | undefined;

  private constructor(
    private readonly file: string,
    private readonly what: string,
    private readonly target: string,
    private readonly temp: string,
    fd: number,
  ) {
    this.stream = createWriteStream('', { fd });
    this.stream.on('error', (error) => (this.failed ??= error));
  }

  static open(file: string, what = 'the report'): AtomicFile {
    const target = preparedOutput(file, what);
    const temp = join(dirname(target), `.${basename(target)}.${randomHex(6)}.tmp`);
    let mode: number | undefined;
    try {
      mode = statSync(target).mode & 0o7777;
    } catch {
      // A new file: the umask decides, as for any file the user creates.
    }
    let fd: number;
    try {
      fd = openSync(temp, 'wx', mode ?? 0o666);
    } catch (error) {
      // Nothing of ours to remove: whatever is at that name was not made here.
      refuse(what, file, `${(error as Error).message}`, error);
    }
    try {
      if (mode !== undefined) fchmodSync(fd, mode);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      refuse(what, file, `${(error as Error).message}`, error);
    }
    return new AtomicFile(file, what, target, temp, fd);
  }

  write(text: string): void {
    if (!this.failed) this.stream.write(text);
  }

  /** Puts the file in place; one that could not be written is an error naming it, and no temp file stays. */
  async commit(): Promise<void> {
    try {
      this.stream.end();
      // Settles even when the stream failed (and closed) long before. Imported here: streams'
      // helpers cost a CLI's start ~4 ms, and only a run that writes a file needs them.
      const { finished } = await import('node:stream/promises');
      await finished(this.stream);
      if (this.failed) throw this.failed;
      await rename(this.temp, this.target);
    } catch (error) {
      await rm(this.temp, { force: true });
      refuse(this.what, this.file, `${(error as Error).message}`, error);
    }
  }
}

export async function writeFileAtomic(file: string, content: string, what = 'the report'): Promise<void> {
  const output = AtomicFile.open(file, what);
  output.write(content);
  await output.commit();
}
