const escapeChar = (char: string): string =>
  char === '\n' ? '\\n' : char === '\t' ? '\\t' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Shows control characters in paths (a newline in a file name) without breaking the layout. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, escapeChar);
}

/** A message of several lines: each line printable, the line breaks kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * The last guard on text we print for people, which may hold names and paths from an app, a
 * config or a report: no control character but the newline and our own colours (a terminal would
 * act on the rest), and no line that a CI runner takes as a command of its own (GitHub Actions
 * runs a line starting with `::`; none of ours does).
 */
export function terminalSafe(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are what it replaces
      .replace(/\x1b(?!\[\d+m)|[\x00-\x09\x0b-\x1a\x1c-\x1f\x7f-\x9f]/g, escapeChar)
      .replace(/^(\s*):(?=:)/gm, '$1\\x3a')
  );
}
