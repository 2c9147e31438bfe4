import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { PreforkCheckError, type ErrorCode } from '../errors.js';

/** `line 3, column 5` for a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Reads and parses a JSON file; a broken one is an error naming the file and the line. */
export function readJsonFile(file: string, code: ErrorCode, what: string, limit = CONFIG_LIMIT): unknown {
  return parseJsonText(readText(file, code, what, limit), file, code, what);
}

/** More than any config needs. */
const CONFIG_LIMIT = 4 * 1024 * 1024;
/** A baseline of 200,000 entries is about 40 MB; a run's JSON report about as much. */
export const BASELINE_LIMIT = 256 * 1024 * 1024;

/**
 * A regular file's text; one that cannot be read is an error naming it. A fifo, device or
 * directory is refused before anything is read from it (a fifo would wait for a writer for ever,
 * /dev/zero never ends), and so is a file larger than `limit` bytes.
 */
export function readText(file: string, code: ErrorCode, what: string, limit = CONFIG_LIMIT): string {
  let fd: number | undefined;
  try {
    // Non-blocking: opening a fifo does not wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile())
      throw new PreforkCheckError(code, `Cannot read ${what} ${file}: it is ${kindOf(stat)}, not a regular file.`);
    if (stat.size > limit)
      throw new PreforkCheckError(
        code,
        `Cannot read ${what} ${file}: it is ${Math.ceil(stat.size / 1024 / 1024)} MB, more than the ${limit / 1024 / 1024} MB ${what} may be.`,
      );
    return readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof PreforkCheckError) throw error;
    throw new PreforkCheckError(
      code,
      `Cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      { cause: error },
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a fifo';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * Parses the JSON text read from `file`; broken or too deep is an error naming the file and the
 * line, and so (when `strict`) is a key given twice in one object, which JSON.parse would settle
 * silently by keeping the last.
 */
export function parseJsonText(text: string, file: string, code: ErrorCode, what: string, strict = true): unknown {
  let value: unknown;
  try {
    // A byte-order mark, as some Windows editors save JSON, is not part of the text.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? 'at the end' : `at ${lineAndColumn(text, Number(position))}`;
    const reason = message
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/^Unexpected end of JSON input$/, 'the file ends early');
    throw new PreforkCheckError(
      code,
      `${what[0]!.toUpperCase()}${what.slice(1)} ${file} is not valid JSON ${where}: ${reason}. Fix it by hand, or delete it and run again.`,
      { cause: error },
    );
  }
  const twice = strict ? duplicateKey(text) : undefined;
  if (twice !== undefined) {
    throw new PreforkCheckError(
      code,
      `${what[0]!.toUpperCase()}${what.slice(1)} ${file} gives the key ${JSON.stringify(twice.key)} twice in one object (again at line ${twice.line}); only one can count. Remove one.`,
    );
  }
  if (depthOf(value) > MAX_DEPTH) {
    throw new PreforkCheckError(
      code,
      `${what[0]!.toUpperCase()}${what.slice(1)} ${file} is nested more than ${MAX_DEPTH} levels deep; no config or baseline needs that. Fix it by hand.`,
    );
  }
  return value;
}

/** Deeper than any config or baseline needs, and shallow enough for the checks that walk it. */
const MAX_DEPTH = 64;

/** How deeply arrays and objects nest in a parsed value, found without recursion. */
function depthOf(value: unknown): number {
  if (!isContainer(value)) return 0;
  let deepest = 0;
  // Containers only, and their depths beside them: a baseline holds millions of strings.
  const items: object[] = [value];
  const depths: number[] = [1];
  while (items.length > 0) {
    const item = items.pop()!;
    const depth = depths.pop()!;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item))
      if (isContainer(child)) {
        items.push(child);
        depths.push(depth + 1);
      }
  }
  return deepest;
}

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object';

/** The first key given twice in one object of valid JSON `text`, and the line of its second use. */
function duplicateKey(text: string): { key: string; line: number } | undefined {
  // One entry per open container: the keys seen so far in an object, null for an array.
  const open: Array<Set<string> | null> = [];
  let line = 1;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    else if (c === 0x7b) {
      open.push(new Set());
      keyNext = true;
    } else if (c === 0x5b) open.push(null);
    else if (c === 0x7d || c === 0x5d) open.pop();
    else if (c === 0x2c) keyNext = open.at(-1) != null;
    else if (c === 0x22) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      if (keyNext) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return { key, line };
        keys.add(key);
        keyNext = false;
      }
      i = end;
    }
  }
  return undefined;
}
