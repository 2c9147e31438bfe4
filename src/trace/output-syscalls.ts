/** Syscalls that put bytes into an fd, and which argument is that fd. */
export const OUTPUT_SYSCALLS: Readonly<Record<string, number>> = {
  write: 0,
  writev: 0,
  pwrite64: 0,
  pwritev: 0,
  pwritev2: 0,
  sendto: 0,
  sendmsg: 0,
  vmsplice: 0,
  sendfile: 0,
  splice: 2,
  tee: 1,
  copy_file_range: 2,
};
