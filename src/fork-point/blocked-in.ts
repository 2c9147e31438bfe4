import type { ProcView } from '../proc/proc-view.js';

// Calls a forked worker waits in first, and a master waits for it in, by number, for the note that says why it was judged one.
const NAMES: Partial<Record<string, Record<number, string>>> = {
  x64: {
    0: 'read',
    7: 'poll',
    23: 'select',
    34: 'pause',
    35: 'nanosleep',
    43: 'accept',
    45: 'recvfrom',
    47: 'recvmsg',
    61: 'wait4',
    128: 'rt_sigtimedwait',
    130: 'rt_sigsuspend',
    202: 'futex',
    230: 'clock_nanosleep',
    232: 'epoll_wait',
    247: 'waitid',
    270: 'pselect6',
    271: 'ppoll',
    281: 'epoll_pwait',
    288: 'accept4',
  },
  arm64: {
    22: 'epoll_pwait',
    63: 'read',
    72: 'pselect6',
    73: 'ppoll',
    95: 'waitid',
    98: 'futex',
    101: 'nanosleep',
    115: 'clock_nanosleep',
    133: 'rt_sigsuspend',
    137: 'rt_sigtimedwait',
    202: 'accept',
    207: 'recvfrom',
    212: 'recvmsg',
    242: 'accept4',
    260: 'wait4',
  },
};

/**
 * The call a task is blocked in right now, as the kernel says: `accept()`, `syscall 43`, or
 * `a call` when only its state is readable. Undefined when it is running, stopped (by the
 * tracer, at a traced call: it goes on at once), gone, or not in a call.
 */
export function blockedIn(proc: ProcView, tid: number): string | undefined {
  // S or D: asleep in the kernel. Readable by anyone, unlike the call's number.
  const state = proc.taskState(tid);
  if (state !== 'S' && state !== 'D') return undefined;
  const number = proc.syscallNumber(tid);
  if (number === 'unreadable') return 'a call';
  if (number === undefined) return undefined;
  const name = NAMES[process.arch]?.[number];
  return name ? `${name}()` : `syscall ${number}`;
}
