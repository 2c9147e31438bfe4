import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { FrameTable, parseRecord } from '../src/attribution/records.js';
import { TraceParser } from '../src/trace/parser.js';
import type { SyscallEvent } from '../src/trace/events.js';
import { ROOT, scratch } from './helpers/run-cli.js';
import { TracePipeline } from '../src/session/pipeline.js';
import { FdTable } from '../src/model/fd-table.js';
import { NO_PROC } from '../src/proc/proc-view.js';

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
      nested: false,
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

  test('a call record made between another record and its call (a signal handler ran there)', async () => {
    const event = await traced(-1, [TOKEN, 'e', 'open', frame(1, 'app.py', 9, 'on_alarm')].join('\x1e'));
    expect(parseRecord(event, TOKEN, new FrameTable())).toMatchObject({ event: 'open', scoped: false, nested: true });
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

describe('records matched to the calls they announce', () => {
  // Lines as the tracer writes them: a record, then (before its call) a signal handler's nested
  // record and call, then the first record's call; then a plain record left without its call.
  const record = (type: string, line: number, fn: string) => {
    const bytes = [TOKEN, type, 'open', frame(line, 'app.py', line, fn)].join('\x1e');
    const escaped = bytes.replaceAll('\x1e', '\\x1e').replaceAll('\x1f', '\\x1f');
    return `100 pwrite64(-1, "${escaped}", ${bytes.length}, 0) = -1 EBADF (Bad file descriptor)`;
  };
  const open = (path: string, fd: number) =>
    `100 openat(AT_FDCWD, "${path}", O_RDONLY|O_CLOEXEC) = ${fd}</tmp/${path}>`;

  function origins(lines: string[]): Record<number, string | undefined> {
    const pipeline = new TracePipeline(TOKEN, () => new FdTable(), [], ROOT, NO_PROC);
    pipeline.apply(
      `100 pwrite64(-1, "${TOKEN}\\x1eS\\x1e${ROOT}\\x1e/usr/lib/python3\\x1e/usr/bin/python3", 80, 0) = -1 EBADF (Bad file descriptor)`,
    );
    for (const line of lines) pipeline.apply(line);
    const table = pipeline.model.tasks.get(100)!.table;
    return Object.fromEntries(pipeline.describe(table, 100).map((fd) => [fd.fd, fd.origin?.function]));
  }

  test("a nested record's call comes first; the outer record still covers the call after it", () => {
    expect(origins([record('E', 10, 'outer'), record('e', 20, 'on_alarm'), open('b', 3), open('a', 4)])).toEqual({
      3: 'on_alarm',
      4: 'outer',
    });
  });

  test('a record whose call never came covers nothing once another record (not nested) follows', () => {
    expect(origins([record('E', 10, 'stale'), record('E', 20, 'fresh'), open('b', 3), open('a', 4)])).toEqual({
      3: 'fresh',
      4: undefined,
    });
  });
});

describe("the bootstrap's records buffer", () => {
  // Asked for a buffer where the tracer does not read one (strace): the first hand-over is not
  // taken, and the process sends every record as a pwrite of its own, none lost.
  test('under a tracer that takes no buffer, every record still reaches the trace', async () => {
    const output = join(scratch(), 'trace.txt');
    await execa(
      'strace',
      [
        '-f',
        '-qq',
        '-s',
        '4096',
        '-e',
        'trace=pwrite64,openat',
        '-o',
        output,
        '/usr/bin/python3',
        '-c',
        "open('/etc/hostname').close(); open('/etc/passwd').close()",
      ],
      { env: { PYTHONPATH: join(ROOT, 'python'), PREFORK_CHECK_TOKEN: TOKEN, PREFORK_CHECK_RECORD_BUFFER: '1' } },
    );
    const parser = new TraceParser();
    const records = readFileSync(output, 'latin1')
      .split('\n')
      .map((line) => parser.parse(line))
      .filter((event): event is SyscallEvent => event?.type === 'syscall' && event.name === 'pwrite64')
      .map((event) => parseRecord(event, TOKEN, new FrameTable()))
      .filter((record) => record !== undefined);
    expect(records.map((record) => (record.type === 'call' ? record.event : record.type))).toEqual([
      'start',
      'open',
      'open',
    ]);
  });
});
