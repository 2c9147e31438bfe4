/** One complete strace record. `args` is the raw text between the parentheses. */
export interface SyscallEvent {
  type: 'syscall';
  pid: number;
  name: string;
  args: string;
  /** Raw text after `= `, e.g. `3</etc/hostname>`, `-1 ENOENT (No such file or directory)`, `?`. */
  result: string;
}

/** A syscall that has entered but not returned yet (`<unfinished ...>`). */
export interface UnfinishedEvent {
  type: 'unfinished';
  pid: number;
  name: string;
  args: string;
}

export interface SignalEvent {
  type: 'signal';
  pid: number;
  signal: string;
}

export interface ExitEvent {
  type: 'exit';
  pid: number;
  code: number;
}

export interface KilledEvent {
  type: 'killed';
  pid: number;
  signal: string;
}

export type TraceEvent = SyscallEvent | UnfinishedEvent | SignalEvent | ExitEvent | KilledEvent;
