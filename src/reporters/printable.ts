/** Shows control characters in paths (a newline in a file name) without breaking the layout. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  return text.replace(/[\x00-\x1f\x7f]/g, (char) =>
    char === '\n' ? '\\n' : char === '\t' ? '\\t' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
