/* The traced threads, by tid. */
#include "tasks.h"

#define MAX_TASKS 65536
static struct task tasks[MAX_TASKS];

struct task *task_of(pid_t tid, int create) {
  unsigned h = (unsigned)tid % MAX_TASKS;
  for (unsigned i = 0; i < MAX_TASKS; i++) {
    struct task *t = &tasks[(h + i) % MAX_TASKS];
    if (t->used && t->tid == tid) return t;
    if (!t->used) {
      if (!create) return NULL;
      memset(t, 0, sizeof *t);
      t->used = 1;
      t->tid = tid;
      return t;
    }
  }
  fprintf(stderr, "prefork-tracer: more than %d tasks\n", MAX_TASKS);
  exit(1);
}

pid_t tgid_of(pid_t tid) {
  struct task *t = task_of(tid, 0);
  return t && t->tgid ? t->tgid : tid;
}

/* Open addressing: a removed slot's followers move up so lookups still find them. */
void forget(struct task *t) {
  free(t->exec_line);
  unsigned i = (unsigned)(t - tasks);
  t->used = 0;
  for (unsigned j = (i + 1) % MAX_TASKS; tasks[j].used; j = (j + 1) % MAX_TASKS) {
    struct task moved = tasks[j];
    tasks[j].used = 0;
    struct task *slot = task_of(moved.tid, 1);
    *slot = moved;
  }
}

