// A small validator for the shapes prefork-check reads from JSON (config,
// baseline, reports): it collects every problem with the path to the value,
// so one run shows all that is wrong, in the user's terms.

export type Problems = string[];

/** A text in quotes for a message, cut short when long: a 100 KB marker is not echoed whole. */
export function quoted(text: string, limit = 60): string {
  return text.length <= limit
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, limit))}… (${text.length} characters)`;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the text ${quoted(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reports keys outside `known`; true when `value` is an object at all. */
export function checkObject(
  value: unknown,
  path: string,
  known: readonly string[],
  problems: Problems,
): value is Record<string, unknown> {
  if (!isObject(value)) {
    problems.push(`${path}: expected an object, got ${describeValue(value)}`);
    return false;
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    // Named by its own path, so the message can give its line.
    const at = /^[\w.[\]]+$/.test(path) ? `${path}.${key}` : key;
    problems.push(
      `${at}: unknown key${near === undefined ? '' : `, did you mean "${near}"?`} (known: ${known.join(', ')})`,
    );
  }
  return true;
}

/** The known word a typo most likely meant: at most two edits away (or differing only in case). */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

export function checkString(value: unknown, path: string, problems: Problems, { empty = false } = {}): value is string {
  if (typeof value === 'string' && (empty || value !== '')) return true;
  problems.push(`${path}: expected ${empty ? 'a text' : 'a non-empty text'}, got ${describeValue(value)}`);
  return false;
}

export function checkNumber(
  value: unknown,
  path: string,
  problems: Problems,
  { integer = false, min = -Infinity, max = Infinity } = {},
): value is number {
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    value >= min &&
    value <= max
  )
    return true;
  const range = max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` of at least ${min}` : '';
  problems.push(`${path}: expected ${integer ? 'a whole number' : 'a number'}${range}, got ${describeValue(value)}`);
  return false;
}

export function checkBoolean(value: unknown, path: string, problems: Problems): value is boolean {
  if (typeof value === 'boolean') return true;
  problems.push(`${path}: expected true or false, got ${describeValue(value)}`);
  return false;
}

export function checkStringArray(value: unknown, path: string, problems: Problems): value is string[] {
  if (!Array.isArray(value)) {
    problems.push(`${path}: expected an array of texts, got ${describeValue(value)}`);
    return false;
  }
  return value.map((item, i) => checkString(item, `${path}[${i}]`, problems)).every(Boolean);
}

export function checkStringMap(value: unknown, path: string, problems: Problems): value is Record<string, string> {
  if (!isObject(value)) {
    problems.push(`${path}: expected an object of texts, got ${describeValue(value)}`);
    return false;
  }
  return Object.entries(value)
    .map(([key, item]) => checkString(item, `${path}.${key}`, problems, { empty: true }))
    .every(Boolean);
}

/** Problems as one message: the first few, and how many more. */
export function formatProblems(problems: Problems, limit = 8): string {
  const shown = problems.slice(0, limit).map((problem) => `  - ${problem}`);
  if (problems.length > limit) shown.push(`  - ... and ${problems.length - limit} more`);
  return shown.join('\n');
}
