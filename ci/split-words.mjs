// Splits the action's `args` or `command` input into words, as a POSIX shell quotes them:
// '...' keeps everything, "..." keeps everything but \" \\ \$ \` escapes, a backslash outside
// quotes escapes the next character. An input of several lines is one word per line, as given.
// Prints the words NUL-separated; an unmatched quote is an error (exit 2) that says where.
const input = process.argv[2] ?? '';

function split(text) {
  const words = [];
  let word = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unmatched ' at character ${i + 1}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let part = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && '"\\$`'.includes(text[j + 1] ?? '')) j++;
        part += text[j];
      }
      if (j >= text.length) throw new Error(`unmatched " at character ${i + 1}`);
      word = (word ?? '') + part;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new Error('a backslash at the end escapes nothing');
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

try {
  const lines = input
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const words = lines.length > 1 ? lines : split(input);
  process.stdout.write(words.map((word) => `${word}\0`).join(''));
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
