import { describe, expect, test } from 'vitest';
import { AppOutput, type Words } from '../src/launch/app-output.js';

describe("words heard in the app's output", () => {
  test('words and a pattern split across chunks and streams are heard once each, as they arrive', () => {
    const solo = /\.> concurrency: [^\n]*\((solo|thread)\)\r?\n/;
    const noApp = '*** no app loaded ***';
    const heard: Words[] = [];
    const output = new AppOutput(undefined, 'ignore', [solo, noApp], (words) => heard.push(words));
    output.tracing();
    output.streams[1].push(Buffer.from('- *** --- * --- .> concurrency: 2 (prefork)\n.> concurrency: 4 (so'));
    expect(heard).toEqual([]);
    output.streams[1].push(Buffer.from('lo)\n'));
    expect(heard).toEqual([solo]);
    // The other stream's bytes are not this one's: a split there is not a match.
    output.streams[2].push(Buffer.from('*** no app '));
    output.streams[1].push(Buffer.from('loaded ***'));
    expect(output.said(noApp)).toBe(false);
    output.streams[2].push(Buffer.from('loaded ***\n.> concurrency: 1 (solo)\n'));
    expect(heard).toEqual([solo, noApp]);
    expect(output.said(solo) && output.said(noApp)).toBe(true);
  });
});
