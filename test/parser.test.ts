import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FdTable } from '../src/model/fd-table.js';
import { initialTable } from '../src/model/initial-table.js';
import { OpenFile } from '../src/model/open-file.js';
import { ProcessModel, type CloneInfo } from '../src/model/process-model.js';
import { parseAnnotation } from '../src/trace/annotation.js';
import { bytesToText, decodeCString } from '../src/trace/c-string.js';
import type { ProcessEvent } from '../src/trace/events.js';
import { TraceParser } from '../src/trace/parser.js';
import { ROOT } from './helpers/run-cli.js';

// Lines below were printed by strace 6.1 (-f -y -yy) on this machine.
const recorded = (name: string) =>
  readFileSync(join(ROOT, 'test/traces', name), 'latin1')
    .split('\n')
    .filter(Boolean);

function parseAll(lines: string[]): ProcessEvent[] {
  const parser = new TraceParser();
  return lines
    .map((line) => parser.parse(line))
    .filter((event) => event !== undefined && event.type !== 'native-frame') as ProcessEvent[];
}

describe('TraceParser', () => {
  test('joins unfinished and resumed halves per thread, across interleaved processes', () => {
    const events = parseAll([
      '1746  wait4(1788,  <unfinished ...>',
      '1788  exit_group(0)                     = ?',
      '1788  +++ exited with 0 +++',
      '1746  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 1788',
    ]);
    expect(events).toEqual([
      { type: 'unfinished', pid: 1746, name: 'wait4', args: '1788, ' },
      { type: 'syscall', pid: 1788, name: 'exit_group', args: '0', result: '?' },
      { type: 'exit', pid: 1788, code: 0 },
      {
        type: 'syscall',
        pid: 1746,
        name: 'wait4',
        args: '1788, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL',
        result: '1788',
      },
    ]);
  });

  test('errors, signals, kills and truncated lines', () => {
    const parser = new TraceParser();
    expect(
      parser.parse(
        '1746  openat(AT_FDCWD</tmp/exp>, "/nope", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
      ),
    ).toMatchObject({
      name: 'openat',
      result: '-1 ENOENT (No such file or directory)',
    });
    expect(parser.parse('1746  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1747} ---')).toEqual({
      type: 'signal',
      pid: 1746,
      signal: 'SIGCHLD',
    });
    expect(parser.parse('1751  +++ killed by SIGKILL +++')).toEqual({ type: 'killed', pid: 1751, signal: 'SIGKILL' });
    expect(parser.parse('1746  openat(AT_FDCWD</tmp/exp>, "/tmp/exp/half')).toBeUndefined();
    expect(parser.parse('garbage')).toBeUndefined();
    expect(parser.unparsedLines).toBe(2);
  });

  test('a path annotation holding commas, brackets, parens and escaped <>', () => {
    const [event] = parseAll(['7  close(20</tmp/a,b) [c]/d\\74x\\76/f>) = 0']);
    expect(event).toMatchObject({ name: 'close', args: '20</tmp/a,b) [c]/d\\74x\\76/f>', result: '0' });
  });
});

describe('C strings and annotations', () => {
  test('escapes decode to the exact bytes; non-UTF-8 bytes stay visible and distinct', () => {
    expect(decodeCString('we ird\\n\\377')).toEqual(Buffer.from([0x77, 0x65, 0x20, 0x69, 0x72, 0x64, 0x0a, 0xff]));
    expect(bytesToText(decodeCString('caf\\303\\251 \\377'))).toBe('café \\xff');
    expect(bytesToText(Buffer.from('a\\b'))).toBe('a\\\\b');
  });

  test.each([
    [
      '<TCP:[127.0.0.1:58880->127.0.0.1:36249]>',
      { type: 'socket', protocol: 'TCP', local: '127.0.0.1:58880', peer: '127.0.0.1:36249' },
    ],
    [
      '<TCPv6:[[::1]:35756->[::1]:56763]>',
      { type: 'socket', protocol: 'TCPv6', local: '[::1]:35756', peer: '[::1]:56763' },
    ],
    ['<TCP:[4300]>', { type: 'socket', protocol: 'TCP', inode: 4300 }],
    [
      '<UNIX-STREAM:[4304,"/tmp/exp/sock"]>',
      { type: 'socket', protocol: 'UNIX-STREAM', inode: 4304, unixPath: '/tmp/exp/sock' },
    ],
    ['<UNIX-STREAM:[4306->4307]>', { type: 'socket', protocol: 'UNIX-STREAM', inode: 4306, peer: '4307' }],
    ['<pipe:[4305]>', { type: 'pipe', inode: 4305 }],
    ['<anon_inode:[eventfd]>', { type: 'anon', name: 'eventfd' }],
    ['</dev/null<char 1:3>>', { type: 'path', path: '/dev/null', device: 'char', deleted: false }],
    ['</memfd:mymem>(deleted)', { type: 'path', path: '/memfd:mymem', deleted: true }],
    ['</tmp/exp/d\\74x\\76/f>', { type: 'path', path: '/tmp/exp/d<x>/f', deleted: false }],
    ['<pid:1851>', { type: 'anon', name: 'pidfd' }],
  ])('%s', (text, expected) => {
    expect(parseAnnotation(text)).toEqual(expected);
  });
});

describe('ProcessModel on a recorded trace', () => {
  test('vfork children print before the parent returns; execve drops close-on-exec fds; close_range closes', () => {
    const stdio = () => {
      const table = new FdTable();
      for (const fd of [0, 1, 2]) table.set(fd, new OpenFile('file', [], { type: 'inherited', from: 'stdio' }), false);
      return table;
    };
    const spawned: number[] = [];
    const model = new ProcessModel(stdio, [
      { cloned: (_parent, child, info) => info.vfork && spawned.push(child.tid) },
    ]);
    const lines = recorded('python-vfork-subprocess.txt');
    let childTableAtExec: number[] | undefined;
    for (const event of parseAll(lines)) {
      const task = model.apply(event);
      if (event.type === 'syscall' && event.name === 'execve' && event.result === '0' && task.tid === 1788) {
        childTableAtExec = [...task.table.slots.keys()].sort((a, b) => a - b);
      }
    }
    // The first child (1788) is known as a vfork child of 1746 although it printed first.
    expect(spawned).toEqual([1788, 1789]);
    // close_range(3, 4) and close_range(6, ~0) left stdio and the errpipe's write end (5, CLOEXEC), which exec dropped.
    expect(childTableAtExec).toEqual([0, 1, 2]);
    // In the parent, both ends of the first errpipe are closed; the second Popen's pipes are still open.
    const parent = model.tasks.get(1746)!;
    expect([...parent.table.slots.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7]);
  });

  test("a close still running when another thread's open is handed its number does not close the new file", () => {
    const model = new ProcessModel(() => new FdTable());
    // From a 16-thread run (threads of one process share the table): 3684's close enters,
    // 3690's openat gets 39, and only then does the close print its result.
    const lines = [
      '3684  openat(AT_FDCWD</srv>, "/tmp/old.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 39</tmp/old.txt>',
      '3684  close(39</tmp/old.txt> <unfinished ...>',
      '3690  openat(AT_FDCWD</srv>, "/tmp/new.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666 <unfinished ...>',
      '3690  <... openat resumed>)             = 39</tmp/new.txt>',
      '3684  <... close resumed>)              = 0',
    ];
    const events = parseAll(lines);
    const root = model.apply(events[0]!);
    // 3690 is a thread of 3684's process: same table.
    model.tasks.set(3690, { tid: 3690, proc: root.proc, table: root.table });
    for (const event of events.slice(1)) model.apply(event);
    expect(root.table.get(39)?.file.path).toBe('/tmp/new.txt');
  });
});

describe('a fork while another thread closes', () => {
  /** Applies `lines`; returns the forked child's table at the clone (by fd: its file's path) and the fds kept for the race. */
  function forkOf(lines: string[]) {
    let forked: CloneInfo | undefined;
    const model = new ProcessModel(
      () => new FdTable(),
      [
        {
          cloned(_parent, _child, info) {
            if (!info.thread) forked = info;
          },
        },
      ],
    );
    for (const event of parseAll(lines)) model.apply(event);
    const table = Object.fromEntries([...forked!.tableAtClone.slots].map(([fd, slot]) => [fd, slot.file.path]));
    return { table, kept: forked!.closedWhileForking, model };
  }

  // Recorded from fixtures/native/close-after-fork.c under checkFork(): the thread closes the file
  // once the child exists, so the child has it; strace prints the close's entry before the clone's return.
  test('a close printed between the clone entering and returning may come after the copy: the child is taken to have the file', () => {
    const { table, kept, model } = forkOf(recorded('strace-close-during-fork.txt'));
    expect(table).toEqual({ 3: '/tmp/race/inherited.log' });
    expect(kept).toEqual([3]);
    expect(model.tasks.get(31509)!.table.get(3)?.file.path).toBe('/tmp/race/inherited.log');
    expect(model.tasks.get(31507)!.table.get(3)?.file.path).toBe('/tmp/race/after-fork.log');
  });

  test('a close still running as the clone enters may come after the copy too; one done before the clone entered may not', () => {
    const lines = recorded('strace-close-during-fork.txt');
    const at = lines.findIndex((line) => line.includes(' clone(child_stack'));
    const opened = lines[at - 1]!;
    const reordered = [
      ...lines.slice(0, at - 1),
      '31508 openat(AT_FDCWD</tmp/race>, "early.log", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 4</tmp/race/early.log>',
      '31508 close(4</tmp/race/early.log>) = 0',
      opened,
      lines[at + 1], // the close enters first
      lines[at], // then the clone
      lines[at + 3], // the close returns
      lines[at + 2], // the clone returns
    ] as string[];
    const { table, kept } = forkOf(reordered);
    expect(table).toEqual({ 3: '/tmp/race/inherited.log' });
    expect(kept).toEqual([3]);
  });

  test('without another thread in between, the child gets the table as the clone returned, and nothing is kept', () => {
    const lines = recorded('strace-close-during-fork.txt');
    const at = lines.findIndex((line) => line.includes(' clone(child_stack'));
    const whole =
      '31507 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f34dece6a10) = 31509';
    const { table, kept } = forkOf([...lines.slice(0, at), '31508 close(3</tmp/race/inherited.log>) = 0', whole]);
    expect(table).toEqual({});
    expect(kept).toEqual([]);
  });
});

describe("the kernel's own table, as prefork-check's tracer writes it", () => {
  test('parses every fd, its octal flags and its escaped link; a line cut short is skipped', () => {
    const parser = new TraceParser();
    const event = parser.parse(
      '77 --- fds 0:100000:"/dev/null" 3:2100002:"/tmp/a \\"b\\"\\x0a\\xff" 9:2:"socket:[81]" ---',
    );
    expect(event).toEqual({
      type: 'kernel-table',
      pid: 77,
      fds: [
        { fd: 0, flags: 0o100000, link: Buffer.from('/dev/null') },
        { fd: 3, flags: 0o2100002, link: Buffer.from([...Buffer.from('/tmp/a "b"\n'), 0xff]) },
        { fd: 9, flags: 0o2, link: Buffer.from('socket:[81]') },
      ],
    });
    expect(parser.parse('77 --- fds ---')).toEqual({ type: 'kernel-table', pid: 77, fds: [] });
    for (const cut of ['77 --- fds 3:2:"/tmp/a', '77 --- fds 3:2:"/tmp/a"', '77 --- fds 3:9:"/x" ---'])
      expect(parser.parse(cut)).toBeUndefined();
    // A signal line still parses as one.
    expect(parser.parse('77 --- SIGCHLD {si_signo=SIGCHLD} ---')).toMatchObject({ type: 'signal', signal: 'SIGCHLD' });
  });

  test("a file's inode, after its flags and in its creation's annotation (prefork-check's tracer only)", () => {
    const parser = new TraceParser();
    expect(parser.parse('77 --- fds 0:100000::"/dev/null" 3:2100002:1234:"/tmp/a.log" 9:2::"socket:[81]" ---')).toEqual(
      {
        type: 'kernel-table',
        pid: 77,
        fds: [
          { fd: 0, flags: 0o100000, link: Buffer.from('/dev/null') },
          { fd: 3, flags: 0o2100002, link: Buffer.from('/tmp/a.log'), ino: '1234' },
          { fd: 9, flags: 0o2, link: Buffer.from('socket:[81]') },
        ],
      },
    );
    expect(parseAnnotation('</tmp/a.log<ino 1234>>')).toEqual({
      type: 'path',
      path: '/tmp/a.log',
      deleted: false,
      ino: '1234',
    });
    expect(parseAnnotation('</tmp/a.log<ino 1234>>(deleted)')).toMatchObject({ deleted: true, ino: '1234' });
  });

  test('a file known by its inode is the same file renamed or unlinked, under its name now; another file at its path is not', () => {
    const model = new ProcessModel(() => new FdTable());
    const lines = [
      '50 openat(AT_FDCWD</srv>, 0x7f00, O_WRONLY|O_CREAT|O_APPEND, 0666) = 3</srv/app.log<ino 11>>',
      '50 openat(AT_FDCWD</srv>, 0x7f00, O_RDWR|O_CREAT, 0600) = 4</srv/tmpx<ino 12>>',
      '50 openat(AT_FDCWD</srv>, 0x7f00, O_WRONLY|O_CREAT|O_APPEND, 0666) = 5</srv/rotated.log<ino 13>>',
      '50 openat(AT_FDCWD</srv>, 0x7f00, O_RDONLY) = 6</srv/plain.txt>',
      // 3 renamed, 4 unlinked; at 5 the same name is another file (made unseen); 6 has no inode to go by.
      '50 --- fds 3:102001:11:"/srv/app.log.1" 4:100002:12:"/srv/tmpx (deleted)" 5:102001:99:"/srv/rotated.log" 6:100000:14:"/srv/plain.txt" ---',
    ];
    let task;
    for (const event of parseAll(lines)) task = model.apply(event);
    const table = task!.table;
    expect(table.get(3)!.file).toMatchObject({
      path: '/srv/app.log.1',
      unaccounted: false,
      createdBy: { syscall: 'openat' },
    });
    expect(table.get(4)!.file).toMatchObject({ path: '/srv/tmpx', deleted: true, unaccounted: false });
    expect(table.get(5)!.file).toMatchObject({
      path: '/srv/rotated.log',
      unaccounted: true,
      createdBy: { type: 'unknown' },
    });
    expect(table.get(6)!.file).toMatchObject({ path: '/srv/plain.txt', unaccounted: false });
  });

  test('a copy of stdout made anew is stdout; the file stdin reads, opened again, is not stdin', () => {
    const model = new ProcessModel(() =>
      initialTable(
        [
          { fd: 0, link: Buffer.from('/srv/input.txt'), flags: 0 },
          { fd: 1, link: Buffer.from('/tmp/prefork-check-x/stdout'), flags: 1 },
        ],
        [],
      ),
    );
    const lines = [
      '60 openat(AT_FDCWD</srv>, "/srv/input.txt", O_RDONLY) = 3</srv/input.txt>',
      '60 pidfd_getfd(4<anon_inode:[pidfd]>, 1, 0) = 5</tmp/prefork-check-x/stdout>',
    ];
    const [opened, taken] = parseAll(lines);
    model.apply(opened!);
    const task = model.apply(taken!);
    expect(model.startStreamOf(task.table.get(5)!.file)).toBe(1);
    expect(model.startStreamOf(task.table.get(1)!.file)).toBe(1);
    expect(model.startStreamOf(task.table.get(3)!.file)).toBeUndefined();
    expect(model.startStreamOf(task.table.get(0)!.file)).toBe(0);
  });

  test('the model takes it as the table: what the kernel closed unseen goes, what it made unseen comes, unaccounted; the rest keeps its maker', () => {
    const model = new ProcessModel(() => new FdTable());
    const lines = [
      '50 openat(AT_FDCWD</srv>, "/srv/kept.log", O_WRONLY|O_CREAT|O_APPEND, 0666) = 3</srv/kept.log>',
      '50 fcntl(3</srv/kept.log>, F_SETFD, FD_CLOEXEC) = 0',
      '50 openat(AT_FDCWD</srv>, "/srv/again.txt", O_RDONLY|O_CLOEXEC) = 4</srv/again.txt>',
      '50 pipe2([5<pipe:[900]>, 6<pipe:[900]>], 0) = 0',
      '50 openat(AT_FDCWD</srv>, "/srv/gone.txt", O_RDONLY, 0666) = 7</srv/gone.txt>',
      '50 openat(AT_FDCWD</srv>, "/srv/mode.txt", O_WRONLY|O_CLOEXEC) = 8</srv/mode.txt>',
      '50 openat(AT_FDCWD</srv>, "/srv/closed.txt", O_RDONLY|O_CLOEXEC) = 10</srv/closed.txt>',
      '50 pipe2([11<pipe:[902]>, 12<pipe:[902]>], O_CLOEXEC) = 0',
      '50 socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 13<socket:[903]>',
      // Closed unseen: 7 and 12; made unseen: 4 (same path, but not close-on-exec), 6 (now a socket),
      // 8 (same path, read-only), 9, and the same kind, mode and close-on-exec as before but another
      // thing: 10 (another path), 11 (another pipe), 13 (another socket).
      '50 --- fds 3:2102001:"/srv/kept.log" 4:0:"/srv/again.txt" 5:0:"pipe:[900]" 6:2:"socket:[901]" 8:2000000:"/srv/mode.txt" 9:0:"/srv/watched.txt" 10:2000000:"/srv/other.txt" 11:2000000:"pipe:[904]" 13:2000002:"socket:[905]" ---',
    ];
    let task;
    for (const event of parseAll(lines)) task = model.apply(event);
    const table = task!.table;
    expect([...table.slots.keys()].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 8, 9, 10, 11, 13]);
    expect(table.get(3)).toMatchObject({ cloexec: true, file: { path: '/srv/kept.log', unaccounted: false } });
    expect(table.get(3)!.file.createdBy).toMatchObject({ type: 'syscall', syscall: 'openat' });
    expect(table.get(5)!.file).toMatchObject({ kind: 'pipe', unaccounted: false });
    for (const fd of [4, 6, 8, 9, 10, 11, 13])
      expect(table.get(fd)!.file, `fd ${fd}`).toMatchObject({ unaccounted: true, createdBy: { type: 'unknown' } });
    expect(table.get(10)!.file.path).toBe('/srv/other.txt');
    expect(table.get(11)!.file.inode).toBe(904);
    expect(table.get(13)!.file.socket?.inode).toBe(905);
    expect(table.get(4)).toMatchObject({ cloexec: false, file: { path: '/srv/again.txt' } });
    expect(table.get(6)!.file.kind).toBe('socket');
    expect(table.kernelRead).toBe(true);
    // Any change after the read: the table is the model's again.
    model.apply(parseAll(['50 close(5<pipe:[900]>) = 0'])[0]!);
    expect(table.kernelRead).toBe(false);
  });
});
