const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  v: 0x0b,
  f: 0x0c,
  a: 0x07,
  b: 0x08,
  '\\': 0x5c,
  '"': 0x22,
  "'": 0x27,
};

function isOctal(code: number): boolean {
  return code >= 0x30 && code <= 0x37;
}

function hexValue(char: string | undefined): number {
  return char === undefined ? NaN : Number.parseInt(char, 16);
}

/**
 * Decodes the body of a C string as strace prints it (without the quotes):
 * `\n`, `\\`, `\"`, octal `\377`, hex `\xff`. strace output is read as latin1,
 * so every char is one byte and the bytes come back exactly.
 */
export function decodeCString(body: string): Buffer {
  if (!body.includes('\\')) return Buffer.from(body, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const char = body.charCodeAt(i);
    if (char !== 0x5c) {
      bytes.push(char & 0xff);
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) {
      bytes.push(0x5c);
      break;
    }
    if (isOctal(next.charCodeAt(0))) {
      let value = 0;
      let j = i + 1;
      while (j < body.length && j < i + 4 && isOctal(body.charCodeAt(j))) {
        value = value * 8 + (body.charCodeAt(j) - 0x30);
        j++;
      }
      bytes.push(value & 0xff);
      i = j - 1;
    } else if (next === 'x' && !Number.isNaN(hexValue(body[i + 2])) && !Number.isNaN(hexValue(body[i + 3]))) {
      bytes.push(hexValue(body[i + 2]) * 16 + hexValue(body[i + 3]));
      i += 3;
    } else {
      bytes.push(SIMPLE_ESCAPES[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** Length of the UTF-8 sequence starting at `i`, or 0 when it is not valid UTF-8. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const lead = bytes[i]!;
  const length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead <= 0xdf ? 2 : 0;
  if (length === 0 || i + length > bytes.length) return 0;
  for (let k = 1; k < length; k++) {
    if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  }
  const decoded = bytes.toString('utf8', i, i + length);
  return decoded.length > 0 && !decoded.includes('\ufffd') ? length : 0;
}

/**
 * A path or other kernel name as text: UTF-8 where it is valid, any other byte
 * as `\xNN`, and a backslash as `\\`, so that distinct byte strings stay distinct.
 */
export function bytesToText(bytes: Buffer): string {
  let simple = true;
  for (const byte of bytes) {
    if (byte >= 0x80 || byte === 0x5c) {
      simple = false;
      break;
    }
  }
  if (simple) return bytes.toString('latin1');
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i]!;
    if (byte === 0x5c) {
      text += '\\\\';
      i++;
    } else if (byte < 0x80) {
      text += String.fromCharCode(byte);
      i++;
    } else {
      const length = utf8SequenceLength(bytes, i);
      if (length > 0) {
        text += bytes.toString('utf8', i, i + length);
        i += length;
      } else {
        text += `\\x${byte.toString(16).padStart(2, '0')}`;
        i++;
      }
    }
  }
  return text;
}
