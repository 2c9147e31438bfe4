/* The kernel's own fd table of a held process, written into the trace. */
#ifndef PREFORK_TRACER_TABLES_H
#define PREFORK_TRACER_TABLES_H
#include "tasks.h"

/* Set by --fd-tables: tables are written where a fork point may be (forks, exit_group, the marker). */
extern int fd_tables;
/* Set by --marker-end BYTE: a write to the app's stdout or stderr may end the marker only if it holds this byte. */
extern int marker_end;

/*
 * `TID --- fds FD:FLAGS:INO:"LINK" ... ---`: TID's table, FLAGS octal as in fdinfo, INO a file's
 * inode (empty for what has no path, and for a device), read from `holder`:
 * TID itself, or a child it has just forked, whose copy is TID's table as it was at the fork.
 */
int put_table(pid_t tid, pid_t holder); /* 0 when `holder` is gone, and nothing was written */
/* Whether the write `t` has just made (`written` bytes) may end the marker: it holds the marker's last byte, or its bytes cannot be read. */
int may_end_marker(struct task *t, long written);
/* At its entry: whether the write `t` is about to make may end the marker (may_end_marker on all it asks to write). */
int may_carry_marker(struct task *t);
#endif
