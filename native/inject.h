/* Making a held tracee run system calls of the tracer's choosing: here, to add a seccomp filter. */
#ifndef PREFORK_TRACER_INJECT_H
#define PREFORK_TRACER_INJECT_H
#include "common.h"
#include <linux/filter.h>
#include <signal.h>

/* Whether this architecture can: x86_64 only (arm64's register work has not run on arm64 hardware). */
extern const int can_inject;

enum { INJECTED = 0, INJECT_FAILED = -1, INJECT_LEFT_STOP = -2 };
/*
 * Adds `filter` to every thread of the process of `tid` (SECCOMP_FILTER_FLAG_TSYNC), with
 * no_new_privs set first if the kernel asks for it. The thread is held at a syscall stop of
 * PTRACE_SYSCALL's: an entry (before the filters have seen the call), or with `at_exit` an exit.
 * INJECTED, INJECT_FAILED (`why` says why): it is held again, at an entry about to make that call
 * from the start (it goes through the filters as they now are), at an exit about to return from
 * it as it did; signals that came meanwhile are raised again (see held_siginfo).
 * INJECT_LEFT_STOP: it is dying, or gone; *status is its last wait status (-1 for none) for the
 * tracer's loop to act on.
 */
int install_filter(pid_t tid, pid_t tgid, int at_exit, struct sock_fprog filter, int *status, char *why, size_t why_len);

/* A signal held back during an injection and raised again: its first siginfo, to restore at its stop. */
int held_siginfo(pid_t tid, int sig, siginfo_t *info);
#endif
