/**
 * A small XML writer for the JUnit report: elements with attributes, children, or one text body.
 * Text that XML 1.0 cannot hold at all (control characters, U+FFFE, U+FFFF, lone surrogates) is
 * written as `\uXXXX`; callers pass text through `printable` first, as the console does.
 */
export interface XmlElement {
  name: string;
  /** In order; undefined values are left out. */
  attributes: [string, string | number | undefined][];
  children?: XmlElement[];
  /** A body written as CDATA (a stack trace keeps its lines). */
  text?: string;
}

const NOT_XML =
  // eslint-disable-next-line no-control-regex -- what XML 1.0 cannot hold is what it replaces
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function xmlText(text: string): string {
  return text.replace(NOT_XML, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

function attributeValue(value: string | number): string {
  return xmlText(String(value)).replace(/[&<>"\n\r\t]/g, (char) => ATTRIBUTE_ESCAPES[char]!);
}

/** CDATA cannot hold `]]>`: it is split across two sections. */
function cdata(text: string): string {
  return `<![CDATA[${xmlText(text).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

function element(node: XmlElement, indent: string): string {
  const attributes = node.attributes
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([name, value]) => ` ${name}="${attributeValue(value)}"`)
    .join('');
  const open = `${indent}<${node.name}${attributes}`;
  if (node.text !== undefined) return `${open}>${cdata(node.text)}</${node.name}>`;
  if (!node.children || node.children.length === 0) return `${open}/>`;
  const children = node.children.map((child) => element(child, indent + '  ')).join('\n');
  return `${open}>\n${children}\n${indent}</${node.name}>`;
}

/** The document: declaration and root element. */
export function xmlDocument(root: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(root, '')}\n`;
}
