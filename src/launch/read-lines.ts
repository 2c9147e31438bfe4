import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into lines. strace escapes every non-printable byte,
 * so latin1 maps its output one byte to one char with nothing lost.
 * Memory holds one chunk and one partial line.
 */
export async function* readLines(stream: Readable): AsyncGenerator<string> {
  let partial = '';
  // The caller may stop reading early; the stream stays open until the tree is killed,
  // so strace never meets a closed pipe.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const text = partial + (chunk as Buffer).toString('latin1');
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      yield text.slice(start, newline);
      start = newline + 1;
    }
    partial = text.slice(start);
  }
  if (partial !== '') yield partial;
}
