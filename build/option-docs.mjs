// Writes CheckOptions' JSDoc in src/options/options.ts from the field table, so each option's help
// is written once (the table) and an editor shows the same words as --help and the JSON Schema.
//   node build/option-docs.mjs            rewrite the file (npm run option-docs)
//   node build/option-docs.mjs --check F  exit 1 if F's JSDoc is not the table's
// Reads the table from dist: run after `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { CHECK_FIELDS, fieldDescription } from '../dist/options/check-fields.js';

const WIDTH = 100;
const INDENT = '  ';

/** `/** text *\/` on one line, or wrapped into ` * ` lines, plus @deprecated. */
function jsdoc(key) {
  const words = fieldDescription(key).split(' ');
  const lines = [''];
  for (const word of words) {
    const last = lines.length - 1;
    if (lines[last] && INDENT.length + 3 + lines[last].length + 1 + word.length > WIDTH) lines.push(word);
    else lines[last] += (lines[last] ? ' ' : '') + word;
  }
  if (CHECK_FIELDS[key].deprecated) lines.push('@deprecated');
  if (lines.length === 1 && INDENT.length + 7 + lines[0].length <= WIDTH) return `${INDENT}/** ${lines[0]} */`;
  return [`${INDENT}/**`, ...lines.map((line) => `${INDENT} * ${line}`), `${INDENT} */`].join('\n');
}

/** The source with every CheckOptions member's JSDoc made from the table; throws on a member the table lacks. */
function withOptionDocs(source) {
  const start = source.indexOf('export interface CheckOptions {\n');
  const end = source.indexOf('\n}\n', start);
  if (start < 0 || end < 0) throw new Error('no `export interface CheckOptions {` in the source');
  const head = source.slice(0, start) + 'export interface CheckOptions {\n';
  const body = source.slice(head.length, end + 1);
  const rest = body.replace(/^ {2}\/\*\*[^]*?\*\/\n/gm, '').replace(/^ {2}\w+\?: .*\n/gm, '');
  if (rest.trim()) throw new Error(`CheckOptions holds more than one-line members and their JSDoc: ${rest.trim()}`);
  const members = [...body.matchAll(/^ {2}(\w+)\?: .*\n/gm)].map((match) => {
    const key = match[1];
    if (!(key in CHECK_FIELDS)) throw new Error(`CheckOptions.${key} has no entry in the field table`);
    return `${jsdoc(key)}\n${match[0]}`;
  });
  return head + members.join('') + source.slice(end + 1);
}

const check = process.argv[2] === '--check';
const file = (check ? process.argv[3] : undefined) ?? 'src/options/options.ts';
const source = readFileSync(file, 'utf8');
const wanted = withOptionDocs(source);
if (check) {
  if (wanted !== source) {
    console.error(`${file}: CheckOptions' JSDoc is not the field table's help; run npm run option-docs`);
    process.exit(1);
  }
} else if (wanted !== source) writeFileSync(file, wanted);
