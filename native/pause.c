/* Pausing a process's other threads while one thread's call is a fork point (pause.h). */
#include "pause.h"
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

/* A paused call that has not ended in this long waits on a paused thread: the pause ends. */
#define PAUSE_LIMIT_NS (250 * 1000000LL)
/*
 * How long a thread is given to stop. One that has not stopped by then is in an uninterruptible
 * wait in the kernel (a vfork parent waiting for its child, a disk): it finishes that call, and
 * stops for our SIGSTOP before it runs any more of the app's code.
 */
#define STOP_LIMIT_NS (10 * 1000000LL)

static struct kept { pid_t tid; int status; } *kept;
static size_t kept_count, kept_next, kept_room;
static pid_t pauser; /* the thread whose call the pause is for, 0 for none */
static long long pause_started_ns;

static void keep(pid_t tid, int status) {
  if (kept_count == kept_room) {
    kept_room = kept_room ? 2 * kept_room : 64;
    kept = realloc(kept, kept_room * sizeof *kept);
    if (!kept) {
      fprintf(stderr, "prefork-tracer: out of memory\n");
      exit(1);
    }
  }
  kept[kept_count++] = (struct kept){tid, status};
  struct task *t = task_of(tid, 0);
  if (t && WIFSTOPPED(status)) t->stopped = 1;
}

/* The other threads of t's process that run: not in a stop of ours, started, not ending. Up to `max`. */
static size_t running_others(struct task *t, pid_t *tids, size_t max) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", tgid_of(t->tid));
  DIR *dir = opendir(path);
  if (!dir) return 0;
  size_t n = 0;
  struct dirent *entry;
  while (n < max && (entry = readdir(dir)) != NULL) {
    pid_t tid = (pid_t)atoi(entry->d_name);
    struct task *other = tid > 0 && tid != t->tid ? task_of(tid, 0) : NULL;
    if (other && other->seen && other->announced && !other->stopped && !other->exiting) tids[n++] = tid;
  }
  closedir(dir);
  return n;
}

void pause_others(struct task *t) {
  if (pauser) return;
  pid_t tids[1024];
  size_t asked = 0, count = running_others(t, tids, sizeof tids / sizeof *tids);
  pid_t tgid = tgid_of(t->tid);
  for (size_t i = 0; i < count; i++)
    if (syscall(SYS_tgkill, tgid, tids[i], SIGSTOP) == 0) tids[asked++] = tids[i];
  if (asked == 0) return;
  pauser = t->tid;
  pause_started_ns = now_ns();
  /* Any stop that comes meanwhile is kept (another process's too), until each asked thread has stopped. */
  size_t left = asked;
  while (left > 0) {
    int status;
    pid_t got = waitpid(-1, &status, __WALL | WNOHANG);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 || (got == 0 && now_ns() - pause_started_ns >= STOP_LIMIT_NS)) break;
    if (got == 0) {
      /* The CPU to the threads on their way to a stop (the app's and ours are one). */
      nanosleep(&(struct timespec){0, 20000}, NULL);
      continue;
    }
    keep(got, status);
    for (size_t i = 0; i < asked; i++)
      if (tids[i] == got) {
        tids[i] = 0;
        left--;
      }
  }
}

void end_pause(pid_t tid) {
  if (pauser == tid) pauser = 0;
}

void end_pause_when_late(void) {
  if (pauser && now_ns() - pause_started_ns >= PAUSE_LIMIT_NS) pauser = 0;
}

int next_unpaused(pid_t *tid, int *status) {
  if (pauser || kept_next == kept_count) {
    if (!pauser) kept_next = kept_count = 0;
    return 0;
  }
  *tid = kept[kept_next].tid;
  *status = kept[kept_next].status;
  kept_next++;
  return 1;
}

int is_our_stop(const siginfo_t *info) {
  return info->si_signo == SIGSTOP && info->si_code == SI_TKILL && info->si_pid == getpid();
}
