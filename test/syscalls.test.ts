import { describe, expect, test } from 'vitest';
import { FD_SYSCALLS } from '../src/model/fd-syscalls.js';
import { SYSCALLS, syscallsThat, writtenFdArgument } from '../src/trace/syscalls.js';
import { straceArguments } from '../src/session/strace-command.js';

const FD_ROLES = ['creates', 'duplicates', 'closes', 'changes'] as const;

describe('the syscall table', () => {
  test('the model applies exactly the calls the table says touch the fd table', () => {
    const touching = Object.keys(SYSCALLS).filter((name) =>
      SYSCALLS[name]!.does.some((role) => (FD_ROLES as readonly string[]).includes(role)),
    );
    expect(new Set(FD_SYSCALLS)).toEqual(new Set(touching));
  });

  test('strace is asked for every call of the table, writes only for a marker, newer calls with ?', () => {
    const traced = (mode: 'marker' | 'exit') => {
      const args = straceArguments(
        {
          forkPoint: mode === 'marker' ? { mode, marker: 'READY' } : { mode },
          attribution: false,
          nativeStacks: false,
        },
        '/tmp/trace',
        ['true'],
      );
      return new Set(
        args
          .find((arg) => arg.startsWith('trace='))!
          .slice('trace='.length)
          .split(','),
      );
    };
    const exit = traced('exit');
    const marker = traced('marker');
    for (const [name, call] of Object.entries(SYSCALLS)) {
      const asked = call.optional ? `?${name}` : name;
      expect(marker.has(asked), name).toBe(true);
      expect(exit.has(asked), name).toBe(!call.does.every((role) => role === 'writes'));
    }
    expect(writtenFdArgument('splice')).toBe(2);
    expect(writtenFdArgument('close')).toBeUndefined();
    expect([...syscallsThat('forks')].sort()).toEqual(['clone', 'clone3', 'fork', 'vfork']);
  });
});

describe("arguments for prefork-check's own tracer", () => {
  const traceOf = (forkPoint: Parameters<typeof straceArguments>[0]['forkPoint'], kernelTables: boolean) =>
    straceArguments({ forkPoint, attribution: true, nativeStacks: false, kernelTables }, '/tmp/trace', ['true']);
  const traces = (args: string[], name: string) =>
    args
      .find((arg) => arg.startsWith('trace='))!
      .slice('trace='.length)
      .split(',')
      .includes(name);

  test('the kernel table is asked for, with the byte a marker ends in; close is never trapped, and a first fork follows its children’s closes', () => {
    const marker = traceOf({ mode: 'marker', marker: 'READY' }, true);
    expect(marker.slice(marker.indexOf('--fd-tables'), marker.indexOf('--'))).toEqual([
      '--fd-tables',
      '--marker-end',
      String('Y'.charCodeAt(0)),
    ]);
    expect(traces(marker, 'close')).toBe(false);
    expect(traces(traceOf({ mode: 'exit' }, true), 'close')).toBe(false);
    const firstFork = traceOf({ mode: 'first-fork' }, true);
    expect(traces(firstFork, 'close')).toBe(false);
    expect(firstFork).toContain('--closes-in-children');
    expect(marker).not.toContain('--closes-in-children');
    // strace: no kernel table, every close (a multi-byte marker's last byte is its last UTF-8 byte).
    const strace = traceOf({ mode: 'marker', marker: 'prêt' }, false);
    expect(strace).not.toContain('--fd-tables');
    expect(traces(strace, 'close')).toBe(true);
    expect(traceOf({ mode: 'marker', marker: 'é' }, true)).toContain(String(0xa9));
  });
});
