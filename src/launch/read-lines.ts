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
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      const text = partial + (chunk as Buffer).toString('latin1');
      let start = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
        yield text.slice(start, newline);
        start = newline + 1;
      }
      partial = text.slice(start);
    }
  } catch (error) {
    // Destroyed by a stop (a timeout, a signal) while a reader waited: the trace is over, not broken.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  }
  if (partial !== '') yield partial;
}
