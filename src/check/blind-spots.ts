import type { ProcView } from '../proc/proc-view.js';
import type { FdTable } from '../model/fd-table.js';
import { addUnseen } from '../model/kernel-table.js';

/** fds through which the kernel puts fds into a table by calls the trace does not show making them. */
const BLIND_SPOTS = new Map([
  ['anon_inode:[io_uring]', 'io_uring (its IORING_OP_OPENAT, IORING_OP_SOCKET and IORING_OP_ACCEPT make fds)'],
  ['anon_inode:[fanotify]', 'fanotify (each event read from it carries a new fd)'],
]);

export interface BlindSpotCheck {
  /** The table with the fds only the kernel shows added, each marked unaccounted. */
  table: FdTable;
  /** What could not be seen and what was done about it, for the report's notes; empty when nothing. */
  notes: string[];
  /** Set when the table may be incomplete: why. */
  incomplete?: string;
}

/**
 * A table that holds an io_uring or fanotify fd may have fds the trace never showed being made.
 * Where prefork-check's tracer read the kernel's table at the fork point, it has them already.
 * Otherwise the kernel's own table of the live process is read, and every fd it has that the model
 * lacks is added, made where the trace cannot see, so that none passes unseen. (Read a moment
 * after the fork point: an fd made in between is reported too, never one missed.)
 */
export function checkBlindSpots(table: FdTable, pid: number, proc: ProcView): BlindSpotCheck {
  const spots = [...new Set([...table.slots.values()].flatMap(({ file }) => BLIND_SPOTS.get(file.anon ?? '') ?? []))];
  if (spots.length === 0) return { table, notes: [] };
  if (table.kernelRead) {
    // prefork-check's tracer read the kernel's table at the fork point itself: nothing is missing.
    const unseen = [...table.slots].filter(([, slot]) => slot.file.unaccounted).map(([fd]) => fd);
    const found =
      unseen.length === 0
        ? "it has no fd beyond the trace's"
        : `fd ${unseen.join(', ')} ${unseen.length === 1 ? 'is' : 'are'} made where the trace cannot see`;
    return {
      table,
      notes: [
        `pid ${pid} uses ${spots.join(' and ')}; the table is the kernel's own, read at the fork point: ${found}`,
      ],
    };
  }
  const unseen = proc.fds(pid).filter((fd) => fd.fd > 2 && table.get(fd.fd) === undefined);
  const completed = table.copy();
  addUnseen(completed, unseen);
  const found =
    unseen.length === 0
      ? "the kernel's own table has no fd beyond the trace's"
      : `fd ${unseen.map((fd) => fd.fd).join(', ')} ${unseen.length === 1 ? 'is' : 'are'} from the kernel's own table, made where the trace cannot see`;
  const why = `pid ${pid} uses ${spots.join(' and ')}`;
  return { table: completed, notes: [`the table may be incomplete: ${why}; ${found}`], incomplete: why };
}
