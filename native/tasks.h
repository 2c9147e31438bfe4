/* The traced threads, by tid. */
#ifndef PREFORK_TRACER_TASKS_H
#define PREFORK_TRACER_TASKS_H
#include "calls.h"

struct task {
  pid_t tid;
  pid_t tgid;          /* its process: itself, or the thread group it joined */
  int used;
  int seen;            /* its first stop came */
  int announced;       /* its parent's clone line is out: it may run */
  int in_call;         /* stopped at a trapped call's entry, resumed to its exit */
  int line_done;       /* the call's line is out already (clone at its event, exec) */
  int may_mark;        /* the write in progress is to the app's stdout or stderr and may hold the marker's end */
  int every_call;      /* stops at every call's entry and exit, not only the filter's (tracer.c) */
  int stopped;         /* in a stop the tracer has seen and not resumed yet */
  int exiting;         /* past its exit event: it runs no more of the app's code */
  struct call *call;
  unsigned long long args[6];
  char *exec_line;     /* execve's arguments, read at entry (gone after it) */
  unsigned long buffer;   /* its records buffer in the tracee (records.h), 0 for none */
  uint32_t buffer_size;   /* the bytes it holds records in */
  uint32_t buffer_read;   /* how many of them were read */
  /* watch.h: in a process's leader's record, the fds (below 1024) whose writes stop; */
  uint64_t watched[16];
  int watch_all;          /* or every fd's */
  int watch_filters;      /* filters added to the process */
  /* fds on the streams this thread made, to be watched from its next call unless that closes them */
  int pending_fds[4];
  int pending_count;
  int pending_all;        /* or every fd (also a new child sharing its parent's table) */
};

/* The thread's record; with `create`, a new one when there is none. */
struct task *task_of(pid_t tid, int create);
/* Its process: itself, or the thread group it joined. */
pid_t tgid_of(pid_t tid);
/* Removes its record (another's may move into its slot: look them up again). */
void forget(struct task *t);
#endif
