import { basename } from 'node:path';
import { madeIn } from '../presets/presets.js';
import type { FdRecord } from '../report/types.js';

/** Made inside a call into uvloop (libuv's C code makes the fds). */
const madeByUvloop = (record: FdRecord) => record.origin?.call === 'uvloop';

/**
 * fds a runtime or library makes for the process itself and replaces in each forked child by
 * design: workers share nothing through them. Each names exactly what its owner makes, so it
 * never excuses an fd the app made. `table`: every fd open at the fork point.
 */
const REPLACED_IN_CHILDREN: {
  owner: string;
  words: string;
  matches: (record: FdRecord, table: readonly FdRecord[]) => boolean;
}[] = [
  {
    // The Ruby VM's timer-thread eventfds: a forked child closes its parent's and makes its own.
    owner: 'ruby',
    words: "the Ruby VM's own eventfd, made as it starts and made anew in each forked child",
    matches: (record: FdRecord) => record.kind === 'eventfd' && record.runtimeStartup === 'ruby',
  },
  {
    // prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, what its docs prescribe
    // for pre-fork servers): a process's metric file is named by its pid and mapped (the map
    // keeps a dup of the fd); a forked child, at its first metric, closes the inherited ones and
    // opens files of its own pid.
    owner: 'prometheus_client',
    words:
      "prometheus_client's multiprocess file of the process that made it (named by its pid): each worker closes it and opens its own",
    matches: (record: FdRecord) =>
      record.kind === 'file' &&
      madeIn('prometheus_client.mmap_dict:MmapedDict.__init__')(record) &&
      record.createdBy.type === 'syscall' &&
      new RegExp(`^[a-z_]+_${record.createdBy.pid}\\.db$`).test(basename(record.target)),
  },
  {
    // libuv's process-wide signal pipe, made with the first loop and kept after every loop is
    // closed; its fork handler closes it in the child and makes another. Known as the one pair
    // left of what uvloop made: an open loop keeps its epoll, and then everything counts.
    owner: 'libuv',
    words:
      "libuv's process-wide signal pipe, left after its loops were closed: each forked child closes it and makes its own",
    // The table is looked at only for an fd uvloop made: never once per fd of every check.
    matches: (record: FdRecord, table: readonly FdRecord[]) => {
      if (!madeByUvloop(record)) return false;
      const left = table.filter(madeByUvloop);
      return left.length === 2 && left.every((fd) => fd.kind === 'pipe');
    },
  },
];

/** The owner (`ruby`, `prometheus_client`, `libuv`) that replaces this fd of `table` in each forked child, if one does. */
export function replacedInChildren(record: FdRecord, table: readonly FdRecord[]): string | undefined {
  return REPLACED_IN_CHILDREN.find((entry) => entry.matches(record, table))?.owner;
}

/** Why an fd `owner` replaces in each child is excused, in the words reports use. */
export function replacedInChildrenWords(owner: string): string {
  return (
    REPLACED_IN_CHILDREN.find((entry) => entry.owner === owner)?.words ??
    `${owner}'s own fd, made anew in each forked child`
  );
}
