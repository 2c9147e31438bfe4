/* One traced call as strace's line: its arguments as the model reads them, and its result. */
#ifndef PREFORK_TRACER_LINES_H
#define PREFORK_TRACER_LINES_H
#include "tasks.h"

/* A trapped call's whole line, at its exit (clone's at its event, close, exit_group and records at entry). */
void put_call(struct task *t, long rval, int is_error);
/* execve's path and argv, read at entry (gone after it). */
char *exec_arguments(pid_t pid, struct call *c, const unsigned long long *a);
#endif
