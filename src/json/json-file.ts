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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PreforkCheckError(
      code,
      `Cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
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
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
