/*
 * The other threads of a process, paused while one of its threads makes the call that may be the
 * fork point: from that call's entry until its table has been read, none of them opens or closes
 * anything (closes do not stop), so the table is the one at that call.
 */
#ifndef PREFORK_TRACER_PAUSE_H
#define PREFORK_TRACER_PAUSE_H
#include <signal.h>
#include "tasks.h"

/*
 * Stops every other running thread of t's process with a SIGSTOP of ours and waits for each one's
 * next stop, whichever it is, which holds it; those stops are handled once the pause ends. One
 * that does not stop within 10 ms (an uninterruptible wait) is not waited for: it stops before it
 * runs any more of the app's code. Nothing when a pause is on.
 */
void pause_others(struct task *t);
/* The pause for `tid`'s call, if any, ends: its threads' stops are handed back (next_unpaused). */
void end_pause(pid_t tid);
/* Ends a pause that has lasted too long (the paused call waits on a paused thread): no deadlock. */
void end_pause_when_late(void);
/* A stop kept during a pause that has ended, for the loop to handle: 1 and its tid and status, or 0. */
int next_unpaused(pid_t *tid, int *status);
/* Whether a signal stop is for the SIGSTOP that paused the thread, which is then not delivered. */
int is_our_stop(const siginfo_t *info);
#endif
