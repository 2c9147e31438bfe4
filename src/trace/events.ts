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

/** One frame of the native stack strace -k prints under the syscall line before it. */
export interface NativeFrameEvent {
  type: 'native-frame';
  /** `libsqlite3.so.0.8.6 sqlite3PagerOpen+0x574`: the object's file name and the symbol, or the offset. */
  frame: string;
}

/**
 * The kernel's own table of a process, read by prefork-check's tracer while the process was held
 * where a fork point may be (`PID --- fds FD:FLAGS:INO:"LINK" ... ---`), before that call's line.
 */
export interface KernelTableEvent {
  type: 'kernel-table';
  pid: number;
  /** Each fd's `/proc/PID/fd` link, its fdinfo flags (O_CLOEXEC included) and a file's inode, as KernelFd. */
  fds: { fd: number; flags: number; link: Buffer; ino?: string }[];
}

/** What happened to one process or thread. */
export type ProcessEvent = SyscallEvent | UnfinishedEvent | SignalEvent | ExitEvent | KilledEvent | KernelTableEvent;

export type TraceEvent = ProcessEvent | NativeFrameEvent;
