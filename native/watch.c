/* Which writes stop when a marker is searched for: see watch.h. */
#include "watch.h"
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "calls.h"
#include "fd-stat.h"
#include "inject.h"
#include "memory.h"
#include "output.h"

static struct stat start_streams[2];
static int start_stream_count;

void note_start_streams(void) {
  for (int fd = 1; fd <= 2; fd++)
    if (fstat(fd, &start_streams[start_stream_count]) == 0) start_stream_count++;
}

static int on_start_stream(const struct stat *st) {
  for (int i = 0; i < start_stream_count; i++)
    if (st->st_dev == start_streams[i].st_dev && st->st_ino == start_streams[i].st_ino) return 1;
  return 0;
}

int reach_of(pid_t pid, int fd) {
  struct stat st;
  if (fd_stat(pid, fd, &st) != 0) return STREAM; /* not to be judged here: said, as strace would */
  if (on_start_stream(&st)) return STREAM;
  return S_ISSOCK(st.st_mode) ? SAID : UNSAID;
}

int start_stream_fds(int *fds, int max) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    int fd = atoi(e->d_name);
    struct stat st;
    /* Not the tracer's own (-o FILE, this directory): those are closed at exec. */
    if (e->d_name[0] == '.' || (fcntl(fd, F_GETFD) & FD_CLOEXEC) || fstat(fd, &st) != 0 || !on_start_stream(&st)) continue;
    if (n == max || fd >= 1024) { n = -1; break; }
    fds[n++] = fd;
  }
  closedir(dir);
  return n;
}

/* A process's watch is kept in its leader's record (threads share the filters: TSYNC). */
static struct task *process_of(struct task *t) {
  struct task *leader = task_of(tgid_of(t->tid), 0);
  return leader ? leader : t;
}

static int watches(const struct task *p, int fd) {
  return p->watch_all || (fd >= 0 && fd < 1024 && (p->watched[fd / 64] >> (fd % 64) & 1));
}

/* Process `p` watches `fds` (each below 1024). */
static void watch_fds(struct task *p, const int *fds, int n) {
  for (int i = 0; i < n; i++) p->watched[fds[i] / 64] |= 1ull << (fds[i] % 64);
}

void watch_start(struct task *root, const int *fds, int n) {
  if (n < 0) root->watch_all = 1;
  watch_fds(root, fds, n);
}

void watch_forked(struct task *parent, struct task *child, int shares_table) {
  struct task *p = process_of(parent);
  memcpy(child->watched, p->watched, sizeof child->watched);
  child->watch_all = p->watch_all;
  child->watch_filters = p->watch_filters;
  /* Either may make an fd the other then writes to: a filter added to one is not the other's. */
  if (shares_table && !p->watch_all) parent->pending_all = child->pending_all = 1;
}

static void add_pending(struct task *t, int fd) {
  for (int i = 0; i < t->pending_count; i++)
    if (t->pending_fds[i] == fd) return;
  if (t->pending_count == 4 || fd >= 1024) t->pending_all = 1;
  else t->pending_fds[t->pending_count++] = fd;
}

/* One that cannot be looked at counts as on them: watching it costs only its writes' stops. */
static void pend_if_on_streams(struct task *t, int fd) {
  if (!watches(process_of(t), fd) && reach_of(t->tid, fd) == STREAM) add_pending(t, fd);
}

/* Received fds (SCM_RIGHTS): every fd of the process is looked at. */
static void pend_any_on_streams(struct task *t) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", t->tid);
  DIR *dir = opendir(path);
  if (!dir) return;
  for (struct dirent *e; (e = readdir(dir));)
    if (e->d_name[0] != '.') pend_if_on_streams(t, atoi(e->d_name));
  closedir(dir);
}

/* More filters than this in one process: one that traps every fd's writes instead. */
#define MAX_WATCH_FILTERS 16

/* A number from a line of /proc/<pid>/task/<tid>/status (`format` is "Key: %d"), or `otherwise`. */
static int status_number(pid_t pid, pid_t tid, const char *format, int otherwise) {
  char path[80], line[128];
  int n = otherwise;
  snprintf(path, sizeof path, "/proc/%d/task/%d/status", pid, tid);
  FILE *status = fopen(path, "r");
  while (status && fgets(line, sizeof line, status))
    if (sscanf(line, format, &n) == 1) break;
  if (status) fclose(status);
  return n;
}

/* Whether t's process has threads besides t: any of them could write to a new fd before t's next call. */
static int has_other_threads(const struct task *t) {
  pid_t pid = tgid_of(t->tid);
  return status_number(pid, pid, "Threads: %d", 1) > 1;
}

/*
 * Whether a thread of t's process has a different count of seccomp filters than t (Linux 5.9
 * and later say it): one added with TSYNC would then either fail, or spread filters a thread
 * put on itself alone to every thread, changing what the app may do.
 */
static int threads_differ_in_filters(const struct task *t) {
  pid_t pid = tgid_of(t->tid);
  int own = status_number(pid, t->tid, "Seccomp_filters: %d", -1), differ = 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *dir = own < 0 ? NULL : opendir(path);
  if (!dir) return 0;
  for (struct dirent *e; !differ && (e = readdir(dir));)
    if (e->d_name[0] != '.') {
      int theirs = status_number(pid, atoi(e->d_name), "Seccomp_filters: %d", own);
      differ = theirs != own;
    }
  closedir(dir);
  return differ;
}

/* Writes to a new fd on the streams cannot be seen: the marker's could be missed, so nothing is judged. */
static void cannot_watch(pid_t tid, const char *why) {
  fprintf(stderr, "prefork-tracer: pid %d has a new fd on the app's stdout or stderr, and its writes cannot be traced: %s; use --tracer strace\n", tid, why);
  flush_out();
  exit(1); /* its tracees die with it (PTRACE_O_EXITKILL) */
}

/* A filter for t's pending fds, added to its process now, t being held at a syscall stop. */
static int watch_pending_now(struct task *t, int at_exit, int *status) {
  struct task *p = process_of(t);
  int all = t->pending_all || p->watch_filters >= MAX_WATCH_FILTERS;
  int fds[4], n = 0;
  for (int i = 0; i < t->pending_count; i++)
    if (!watches(p, t->pending_fds[i])) fds[n++] = t->pending_fds[i];
  t->pending_all = t->pending_count = 0;
  if (p->watch_all || (!all && n == 0)) return WATCH_NONE;
  char why[160];
  pid_t tid = t->tid;
  if (threads_differ_in_filters(t)) cannot_watch(tid, "a thread of the app has seccomp filters of its own, which a filter for every thread would spread");
  int done = install_filter(tid, tgid_of(tid), at_exit, watch_filter(fds, all ? -1 : n), status, why, sizeof why);
  if (done == INJECT_LEFT_STOP) return WATCH_LEFT_STOP;
  if (done == INJECT_FAILED) cannot_watch(tid, why);
  p->watch_filters++;
  if (all) p->watch_all = 1;
  watch_fds(p, fds, n);
  return WATCH_ADDED;
}

int watch_made_fds(struct task *t, const struct ptrace_syscall_info *info, int *status) {
  *status = -1;
  if (info->exit.is_error || !t->call) return WATCH_NONE;
  int fd = (int)info->exit.rval;
  switch (t->call->kind) {
    case K_OPEN: case K_OPENAT: case K_OPENAT2: case K_OPEN_BY_HANDLE: case K_CREAT: case K_DUP:
      pend_if_on_streams(t, fd);
      break;
    case K_FCNTL:
      if (t->args[1] == F_DUPFD || t->args[1] == F_DUPFD_CLOEXEC) pend_if_on_streams(t, fd);
      break;
    case K_IOCTL: /* a pty's peer: the app's own terminal, when that is its stdout */
      if ((uint32_t)t->args[1] == TIOCGPTPEER) pend_if_on_streams(t, fd);
      break;
#ifdef SYS_pidfd_getfd
    case K_CREATES:
      if (t->call->nr == SYS_pidfd_getfd) pend_if_on_streams(t, fd);
      break;
#endif
    case K_RECVMSG: { /* fds come only with control data */
      struct msghdr m;
      if (read_mem(t->tid, t->args[1], &m, sizeof m) != 0 || m.msg_controllen > 0) pend_any_on_streams(t);
      break;
    }
    case K_RECVMMSG:
      pend_any_on_streams(t);
      break;
    default:
      break;
  }
  /* Alone in its process, t is the only one that can write to them: that can wait for its next call. */
  return watch_pending(t) && has_other_threads(t) ? watch_pending_now(t, 1, status) : WATCH_NONE;
}

int watch_pending(const struct task *t) { return t->pending_all || t->pending_count > 0; }

int watch_at_entry(struct task *t, const struct ptrace_syscall_info *info, int *status) {
  *status = -1;
  if (!t->pending_all && info->entry.nr == SYS_close)
    for (int i = 0; i < t->pending_count; i++)
      if (t->pending_fds[i] == (int)info->entry.args[0]) t->pending_fds[i--] = t->pending_fds[--t->pending_count];
  return watch_pending_now(t, 0, status);
}
