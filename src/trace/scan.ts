// Scanning strace's argument syntax: quoted C strings, `<...>` fd annotations
// (from -y/-yy) and nested (), [], {}. Paths inside annotations may hold raw
// commas and brackets (only `<`, `>` and non-printables are escaped), so they
// are skipped as a unit rather than tokenised.

/** Index just past the string that opens at `i` (s[i] === '"'), including a `...` truncation mark. */
export function skipString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j += 2;
    else if (c === 0x22) break;
    else j++;
  }
  j++;
  if (s.startsWith('...', j)) j += 3;
  return Math.min(j, s.length);
}

/** Index just past the annotation that opens at `i` (s[i] === '<'), including a `(deleted)` suffix. */
export function skipAnnotation(s: string, i: number): number {
  let j = i + 1;
  if (s.charCodeAt(j) === 0x2f /* '/' */) {
    // A path, optionally followed by a nested `<char 1:3>` device note.
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x5c) j += 2;
      else if (c === 0x3c /* '<' */) {
        const close = s.indexOf('>', j);
        j = close < 0 ? s.length : close + 1;
      } else if (c === 0x3e /* '>' */) break;
      else j++;
    }
  } else {
    // Socket, pipe or anon inode: `TCP:[a->b]`, `UNIX-STREAM:[1,"/p"]`, `anon_inode:[eventfd]`.
    let depth = 0;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x22) {
        j = skipString(s, j);
        continue;
      }
      if (c === 0x5b) depth++;
      else if (c === 0x5d) depth--;
      else if (c === 0x3e && depth <= 0) break;
      j++;
    }
  }
  j++;
  if (s.startsWith('(deleted)', j)) j += 9;
  return Math.min(j, s.length);
}

/**
 * Index of the `)` or `]` that closes a group opened just before `start`
 * (the `(` of an argument list, the `[` of an array), or -1 when the text ends first.
 */
export function findClose(s: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      i = skipString(s, i);
      continue;
    }
    if (c === 0x3c) {
      i = skipAnnotation(s, i);
      continue;
    }
    if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x29 || c === 0x5d || c === 0x7d) {
      if (depth === 0) return i;
      depth--;
    }
    i++;
  }
  return -1;
}

/** Splits an argument list (or the inside of `[...]`/`{...}`) at top-level commas. */
export function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      i = skipString(s, i);
      continue;
    }
    if (c === 0x3c) {
      i = skipAnnotation(s, i);
      continue;
    }
    if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x29 || c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && depth === 0) {
      parts.push(s.slice(from, i).trim());
      from = i + 1;
    }
    i++;
  }
  const last = s.slice(from).trim();
  if (last !== '' || parts.length > 0) parts.push(last);
  return parts;
}
