import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { FrameTable, parseRecord } from '../src/attribution/records.js';
import { TraceParser } from '../src/trace/parser.js';
import type { SyscallEvent } from '../src/trace/events.js';
import { scratch } from './helpers/run-cli.js';

const TOKEN = 'c0ffee00c0ffee00c0ffee00c0ffee00';

/** What the real strace prints for a pwrite(fd, data) made by a real Python. */
async function traced(fd: number, data: string, stringLimit = 4096): Promise<SyscallEvent> {
  const code = `import os, sys\ntry: os.pwrite(${fd}, bytes.fromhex(sys.argv[1]), 0)\nexcept OSError: pass`;
  // Written to a file, as in a check, strace prefixes each line with its pid.
  const output = join(scratch(), 'trace.txt');
  await execa('strace', [
    '-f',
    '-qq',
    '-e',
    'signal=none',
    '-s',
    String(stringLimit),
    '-e',
    'trace=pwrite64',
    '-o',
    output,
    'python3',
    '-c',
    code,
    Buffer.from(data, 'latin1').toString('hex'),
  ]);
  const parser = new TraceParser();
  const event = readFileSync(output, 'latin1')
    .split('\n')
    .map((line) => parser.parse(line))
    .find((candidate) => candidate?.type === 'syscall' && candidate.name === 'pwrite64');
  return event as SyscallEvent;
}

const frame = (id: number, file: string, line: number, fn: string) => `${id}\x1f${file}\x1f${line}\x1f${fn}`;

describe('attribution records, as strace prints them', () => {
  test('a call record: event, native flag and frames, with odd bytes in paths kept exactly', async () => {
    const event = await traced(
      -1,
      [TOKEN, 'E', 'open', frame(1, '/srv/app 1/\xffx.py', 12, 'Cache.load'), frame(2, 'app.py', 3, '<module>')].join(
        '\x1e',
      ),
    );
    expect(parseRecord(event, TOKEN, new FrameTable())).toEqual({
      type: 'call',
      event: 'open',
      scoped: false,
      native: false,
      frames: [
        { file: '/srv/app 1/\\xffx.py', line: 12, function: 'Cache.load' },
        { file: 'app.py', line: 3, function: '<module>' },
      ],
    });
  });

  test('frames sent once, then by number; a forked child reads its parent’s and numbers its own', async () => {
    const parent = new FrameTable();
    parseRecord(
      await traced(
        -1,
        [TOKEN, 'E', 'open', frame(1, 'lib.py', 4, 'load'), frame(2, 'app.py', 3, '<module>')].join('\x1e'),
      ),
      TOKEN,
      parent,
    );
    const child = new FrameTable(parent);
    // After the fork both number their next frame 3: each reads its own.
    parseRecord(
      await traced(-1, [TOKEN, 'E', 'open', frame(3, 'parent.py', 9, 'run'), '2'].join('\x1e')),
      TOKEN,
      parent,
    );
    const record = parseRecord(
      await traced(-1, [TOKEN, 'E', 'socket', frame(3, 'worker.py', 7, 'serve'), '1', '2'].join('\x1e')),
      TOKEN,
      child,
    );
    expect(record).toMatchObject({
      frames: [
        { file: 'worker.py', line: 7, function: 'serve' },
        { file: 'lib.py', line: 4, function: 'load' },
        { file: 'app.py', line: 3, function: '<module>' },
      ],
    });
    expect(parent.get(3)).toEqual({ file: 'parent.py', line: 9, function: 'run' });
  });

  test('a start record', async () => {
    const event = await traced(-1, [TOKEN, 'S', '/srv', '/usr/lib/python3.11', '/usr/bin/python3'].join('\x1e'));
    expect(parseRecord(event, TOKEN, new FrameTable())).toEqual({
      type: 'start',
      runtime: 'python',
      cwd: '/srv',
      stdlib: '/usr/lib/python3.11',
      executable: '/usr/bin/python3',
    });
  });

  test('a Ruby call, covering every fd until its end, and a start record naming Ruby', async () => {
    const call = await traced(-1, [TOKEN, 'C', 'socket', frame(7, 'config.ru', 4, '<main>')].join('\x1e'));
    expect(parseRecord(call, TOKEN, new FrameTable())).toMatchObject({
      type: 'call',
      event: 'socket',
      scoped: true,
      native: false,
    });
    const start = await traced(-1, [TOKEN, 'S', '/srv', '/usr/lib/ruby/3.1.0', '/usr/bin/ruby', 'ruby'].join('\x1e'));
    expect(parseRecord(start, TOKEN, new FrameTable())).toMatchObject({
      type: 'start',
      runtime: 'ruby',
      stdlib: '/usr/lib/ruby/3.1.0',
    });
  });

  test('the end of a scoped call', async () => {
    expect(parseRecord(await traced(-1, [TOKEN, 'X'].join('\x1e')), TOKEN, new FrameTable())).toEqual({ type: 'end' });
  });

  test('not records: another token, a real fd, or a record strace cut short', async () => {
    const body = [TOKEN, 'N', 'ctypes', frame(1, 'app.py', 3, '<module>')].join('\x1e');
    expect(parseRecord(await traced(-1, body.replace(/^c0/, 'c1')), TOKEN, new FrameTable())).toBeUndefined();
    expect(parseRecord(await traced(2, body), TOKEN, new FrameTable())).toBeUndefined();
    expect(parseRecord(await traced(-1, body, 40), TOKEN, new FrameTable())).toBeUndefined();
    expect(parseRecord(await traced(-1, body), TOKEN, new FrameTable())).toMatchObject({
      native: true,
      event: 'ctypes',
    });
  });
});
