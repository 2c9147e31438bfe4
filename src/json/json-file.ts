import { readFileSync } from 'node:fs';
import { PreforkCheckError, type ErrorCode } from '../errors.js';

/** `line 3, column 5` for a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Reads and parses a JSON file; a broken one is an error naming the file and the line. */
export function readJsonFile(file: string, code: ErrorCode, what: string): unknown {
  return parseJsonText(readText(file, code, what), file, code, what);
}

/** A file's text; one that cannot be read is an error naming it. */
export function readText(file: string, code: ErrorCode, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new PreforkCheckError(
      code,
      `Cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      { cause: error },
    );
  }
}

/** Parses the JSON text read from `file`; broken or too deep is an error naming the file and the line. */
export function parseJsonText(text: string, file: string, code: ErrorCode, what: string): unknown {
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
