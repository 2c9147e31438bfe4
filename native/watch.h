/*
 * Which writes stop, when a marker is searched for: those to fds on the app's stdout and stderr.
 * The filter traps writes to the fds on them at the start; an fd on them that a process makes
 * later (a dup, an open of /dev/stdout, one received) gets a filter of its own, added to that
 * process while it is held at the call that made it. Writes to anything else never stop.
 */
#ifndef PREFORK_TRACER_WATCH_H
#define PREFORK_TRACER_WATCH_H
#include <linux/ptrace.h>
#include "tasks.h"

/* The app's own stdout and stderr (the tracer's, passed on), noted before it starts. */
void note_start_streams(void);
/* Whether a write to `fd` may carry the marker (STREAM: it is on the file of the app's stdout or stderr, whichever description), is to a socket (SAID), or neither. */
enum { UNSAID, SAID, STREAM };
int reach_of(pid_t pid, int fd);
/* The tracer's own fds on those files, which the app starts with: up to `max` into `fds`; -1 if there are more, or one above 1023. */
#define MAX_START_STREAM_FDS 63
int start_stream_fds(int *fds, int max);
/* The started process watches `fds`. */
void watch_start(struct task *root, const int *fds, int n);
/* A forked child watches what its parent does; one that shares its table also every fd, as does its parent. */
void watch_forked(struct task *parent, struct task *child, int shares_table);

enum { WATCH_NONE, WATCH_ADDED, WATCH_LEFT_STOP };
/*
 * At a traced call's exit: the fds on the streams it made that t's process does not watch yet.
 * With other threads in the process, any of which may write to them at once, a filter for them
 * is added now (WATCH_ADDED: t is held at that exit as it was). Alone, t is the only writer: they
 * are pending, and t stops at the entry of its next call (watch_pending), where they are watched
 * unless that call closes them (a check that an fd is valid dups it and closes the dup at once).
 */
int watch_made_fds(struct task *t, const struct ptrace_syscall_info *info, int *status);
int watch_pending(const struct task *t);
/*
 * At the entry stop of t's next call: a filter for what is pending, added to its process.
 * WATCH_ADDED: t is held, about to make its call again from the start (through the filter).
 * WATCH_NONE: nothing was to be added (the call closes it), and t is at that entry as it was.
 * WATCH_LEFT_STOP (here and above): t is dying or gone, and *status is its wait status for the loop (-1: none).
 */
int watch_at_entry(struct task *t, const struct ptrace_syscall_info *info, int *status);
#endif
