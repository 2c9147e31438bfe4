// Finds where a value sits in JSON text, so that a problem found after
// parsing ("entries[3].kind") can still be reported with its line.

type Path = Array<string | number>;

/** Parses `text` just enough to return the offset of the value at `path`, or undefined. */
function locateJson(text: string, path: Path): number | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // Skips one value; when it is the one `path` leads to (from `depth`), returns its offset.
  const value = (depth: number): number | undefined => {
    space();
    const start = i;
    if (depth === path.length) return start;
    const want = path[depth];
    if (text[i] === '{') {
      i++;
      for (;;) {
        space();
        if (text[i] === '}' || i >= text.length) break;
        const key = string();
        space();
        i++; // ':'
        if (key === want) return value(depth + 1);
        skip();
        space();
        if (text[i] === ',') i++;
      }
      return undefined;
    }
    if (text[i] === '[') {
      i++;
      for (let index = 0; ; index++) {
        space();
        if (text[i] === ']' || i >= text.length) break;
        if (index === want) return value(depth + 1);
        skip();
        space();
        if (text[i] === ',') i++;
      }
      return undefined;
    }
    return undefined;
  };
  const skip = () => {
    space();
    if (text[i] === '"') return void string();
    if (text[i] === '{' || text[i] === '[') {
      const close = text[i] === '{' ? '}' : ']';
      i++;
      for (;;) {
        space();
        if (text[i] === close || i >= text.length) break;
        if (close === '}') {
          string();
          space();
          i++;
        }
        skip();
        space();
        if (text[i] === ',') i++;
      }
      i++;
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  return value(0);
}

/** The line of the value at `path`, or undefined when it cannot be found. */
export function lineNumber(text: string, path: Path): number | undefined {
  const offset = locateJson(text, path);
  return offset === undefined ? undefined : text.slice(0, offset).split('\n').length;
}

/** ` (line N)` of the value at `path`, for messages; empty when it cannot be found. */
export function lineOf(text: string, path: Path): string {
  const line = lineNumber(text, path);
  return line === undefined ? '' : ` (line ${line})`;
}
