/*
 * prefork-tracer: follows an app and its children with ptrace and a seccomp filter, and writes
 * what prefork-check's model reads, in strace's own line format (strace -f -y -e trace=...):
 * the fd-making calls with the fd they return and its target, dups, closes, process life,
 * output to the app's streams for a marker, and the attribution records.
 *
 * Why not strace: strace stops the app at every call of every traced name, decodes every
 * argument and prints it. The filter here traps only the calls that change an fd table, down to
 * their arguments (fcntl's F_DUPFD and F_SETFD, not F_GETFL; ioctl's FIOCLEX, not TCGETS), and a
 * line is formatted from the few values the model reads.
 *
 * Command line, a subset of strace's so the same arguments serve both (and -V [--mkfifo PATH...]):
 *   prefork-tracer [-f] [-q] [-y] [-yy] [--seccomp-bpf] [-s N] [-e signal=none]
 *                  -e trace=NAME,?NAME,... [-o FILE | --output-fd N] [--fd-tables [--marker-end BYTE]]
 *                  [--closes-in-children] [--die-with PID] [--cpu N [--move-off PID]] -- COMMAND [ARG...]
 * A `?NAME` unknown on this architecture is skipped; an unknown NAME is an error. --output-fd N
 * (ours) writes the trace to fd N, inherited from our parent, which the app does not inherit. --fd-tables (ours)
 * writes the kernel's fd table of a process held where a fork point may be: at each fork (read
 * from the child, which has not run), at exit_group, at each write to the app's stdout or stderr
 * that may end the marker (those two with the process's other threads paused from the call's
 * entry: pause.h), and as a process dies of a signal. --die-with PID (ours): PID is our parent,
 * and when it ends, however (SIGKILL included), the tracer is killed, and every tracee with it
 * (PTRACE_O_EXITKILL). --cpu N (ours): the tracer and the app run on CPU N, and with
 * --move-off PID, that process's threads on the others (cpus.h).
 * Exits with the started process's status (128+N when killed by signal N), as strace does.
 */
#include "common.h"
#include <linux/ptrace.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "calls.h"
#include "cpus.h"
#include "fd-stat.h"
#include "inject.h"
#include "lines.h"
#include "memory.h"
#include "output.h"
#include "pause.h"
#include "records.h"
#include "tables.h"
#include "tasks.h"
#include "watch.h"

/* <sys/ptrace.h> and <linux/ptrace.h> clash; the few requests used here. */
extern long ptrace(int request, pid_t pid, void *addr, void *data);
#define PTRACE_TRACEME_ 0
#define PTRACE_CONT_ 7
#define PTRACE_SYSCALL_ 24
#define PTRACE_SETOPTIONS_ 0x4200
#define PTRACE_GETEVENTMSG_ 0x4201
#define PTRACE_GETSIGINFO_ 0x4202
#define PTRACE_SETSIGINFO_ 0x4203

/* ---------- the loop ---------- */

static void handle(pid_t tid, int status);

/* A task that stops at every call (a forked child, for its closes) is always resumed to its next one. */
static void resume(struct task *t, int request, int sig) {
  t->stopped = 0;
  /* So is one with fds to watch from its next call (watch.h). */
  if (t->every_call || watch_pending(t)) request = PTRACE_SYSCALL_;
  if (ptrace(request, t->tid, 0, (void *)(long)sig) < 0 && errno != ESRCH)
    fprintf(stderr, "prefork-tracer: ptrace resume %d: %s\n", t->tid, strerror(errno));
}

/*
 * The stopped call's number, arguments or result. -1 only when the thread is gone. A kernel
 * without PTRACE_GET_SYSCALL_INFO (before 5.3) cannot be traced this way: going on would miss
 * every call, so the tracer ends, and the app with it, and says so.
 */
static int get_info(pid_t tid, struct ptrace_syscall_info *info) {
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof *info, info) >= 0) return 0;
  if (errno == ESRCH) return -1;
  fprintf(stderr, "prefork-tracer: ptrace(PTRACE_GET_SYSCALL_INFO, ...): %s: this tracer needs Linux 5.3 or later; use --tracer strace\n", strerror(errno));
  flush_out();
  exit(1); /* its tracees die with it (PTRACE_O_EXITKILL) */
}

/*
 * --closes-in-children (ours): a forked child stops at every call until it execs or calls setsid
 * (a daemon, whose own forked children are followed again), and its closes are said, while its
 * parent's are not trapped at all. A first fork's worker is followed to its
 * ready point, and what it closes of what it inherited, and where, is only in the trace.
 */
static int closes_in_children;

/* A trapped call's entry (a seccomp stop). */
static void on_entry(struct task *t) {
  struct ptrace_syscall_info info;
  if (get_info(t->tid, &info) < 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    resume(t, PTRACE_CONT_, 0);
    return;
  }
  if (info.arch != OUR_ARCH || info.seccomp.nr >= X32_SYSCALL_BIT) {
    fprintf(stderr, "prefork-tracer: pid %d runs a program of another architecture (32-bit?): trace it with --tracer strace\n", t->tid);
    kill(t->tid, SIGKILL);
    return;
  }
  struct call *c = call_of((long)info.seccomp.nr);
  if (!c) { resume(t, PTRACE_CONT_, 0); return; }
  /* The records the thread buffered since it last stopped announce this call: they come first. */
  read_buffer(t);
  t->call = c;
  memcpy(t->args, info.seccomp.args, sizeof t->args);
  int record = c->kind == K_PWRITE && (int)t->args[0] == -1;
  if (record && t->args[3] == BUFFER_HANDOVER) {
    take_buffer(t, t->args[1], t->args[2]);
    resume(t, PTRACE_CONT_, 0);
    return;
  }
  if (c->kind == K_CLOSE || c->kind == K_EXIT_GROUP || record) {
    /*
     * Said whole at entry, one stop: the kernel frees a closed number as close enters (before
     * another thread's open can be handed it), exit_group does not return, and an attribution
     * record's fd -1 always fails with EBADF.
     */
    if (fd_tables && c->kind == K_EXIT_GROUP) {
      pause_others(t);
      put_table(t->tid, t->tid);
      end_pause(t->tid);
    }
    if (record) put_record_at(t->tid, t->args[1], t->args[2], t->args[3]);
    else put_call(t, 0, 0);
    resume(t, PTRACE_CONT_, 0);
    return;
  }
  t->may_mark = 0;
  if (c->kind == K_OUTPUT || c->kind == K_PWRITE) {
    int reach = reach_of(t->tid, (int)t->args[c->fd_at]);
    if (reach == UNSAID) {
      /* Bytes that cannot be the marker's, to a file that is no socket: nothing for the model. */
      resume(t, PTRACE_CONT_, 0);
      return;
    }
    /* A write that may be the marker's: the process's other threads stay where they are until its table is read. */
    t->may_mark = fd_tables && reach == STREAM && may_carry_marker(t);
    if (t->may_mark) pause_others(t);
  }
  if (c->kind == K_EXEC) {
    free(t->exec_line);
    t->exec_line = exec_arguments(t->tid, c, t->args);
  }
  /* A child that makes itself a session leader is daemonizing, not a worker: its closes need no stops. */
  if (c->nr == SYS_setsid) t->every_call = 0;
  t->in_call = 1;
  t->line_done = 0;
  resume(t, PTRACE_SYSCALL_, 0);
}

/*
 * The entry of any call of a task that stops at every call. Only a close the filter does not
 * trap is said here (whole, as at a trapped close's entry); a trapped call stops again for the
 * filter, and is said there.
 */
static void on_every_call_entry(struct task *t, const struct ptrace_syscall_info *info) {
  struct call *c = call_of((long)info->entry.nr);
  if (c && c->kind == K_CLOSE && !c->traced) {
    read_buffer(t);
    t->call = c;
    memcpy(t->args, info->entry.args, sizeof t->args);
    put_call(t, 0, 0);
  }
  resume(t, PTRACE_SYSCALL_, 0);
}

static void on_syscall_stop(struct task *t) {
  struct ptrace_syscall_info info;
  if (get_info(t->tid, &info) < 0) return; /* gone */
  if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
    int status;
    pid_t tid = t->tid;
    int watched = watch_pending(t) ? watch_at_entry(t, &info, &status) : WATCH_NONE;
    if (watched == WATCH_LEFT_STOP && status != -1) handle(tid, status);
    if (watched == WATCH_ADDED) resume(t, PTRACE_CONT_, 0); /* its call is made again, and stops again as any */
    if (watched == WATCH_NONE) {
      if (t->every_call) on_every_call_entry(t, &info);
      else resume(t, PTRACE_CONT_, 0);
    }
    return;
  }
  if (t->in_call && !t->line_done && info.op == PTRACE_SYSCALL_INFO_EXIT) {
    /* The marker may end in this write: the table as it is now, held, before the write's line. */
    if (t->may_mark && !info.exit.is_error && may_end_marker(t, (long)info.exit.rval)) put_table(t->tid, t->tid);
    put_call(t, (long)info.exit.rval, info.exit.is_error);
  }
  if (t->in_call && info.op == PTRACE_SYSCALL_INFO_EXIT) end_pause(t->tid);
  int made = t->in_call && info.op == PTRACE_SYSCALL_INFO_EXIT && watching_writes;
  t->in_call = 0;
  int status;
  pid_t tid = t->tid;
  if (made && watch_made_fds(t, &info, &status) == WATCH_LEFT_STOP) {
    if (status != -1) handle(tid, status);
    return;
  }
  resume(t, PTRACE_CONT_, 0);
}

static void start_child(struct task *child) {
  child->announced = 1;
  if (child->seen) resume(child, PTRACE_CONT_, 0);
}

/* fork, vfork, clone: the new task's pid is known at this stop; its line goes out now, before it runs. */
static void on_clone_event(struct task *t, int event) {
  unsigned long child_pid = 0;
  ptrace(PTRACE_GETEVENTMSG_, t->tid, 0, &child_pid);
  unsigned long long flags = 0;
  if (t->call && t->call->kind == K_CLONE) flags = t->args[0];
  else if (t->call && t->call->kind == K_CLONE3) read_mem(t->tid, t->args[0], &flags, sizeof flags);
  int thread = (flags & 0x10000 /* CLONE_THREAD */) != 0;
  /*
   * A new process: the table it starts with, before the fork's line. Read from the child, which
   * has not run yet: its copy is the table at the fork, whatever the parent's other threads have
   * closed or made since (closes do not stop). With CLONE_FILES the two share one table; a child
   * already gone (killed from outside) leaves the parent's.
   */
  int shares_table = (flags & 0x400 /* CLONE_FILES */) != 0;
  if (fd_tables && !thread && (shares_table || !put_table(t->tid, (pid_t)child_pid))) put_table(t->tid, t->tid);
  if (t->in_call && t->call) {
    put_call(t, (long)child_pid, 0);
    t->line_done = 1;
  }
  struct task *child = task_of((pid_t)child_pid, 1);
  child->tgid = thread ? tgid_of(t->tid) : (pid_t)child_pid;
  child->every_call = t->every_call || (closes_in_children && !thread);
  if (watching_writes && !thread) watch_forked(t, child, shares_table);
  /* A forked copy of the thread has its records buffer too, at the same address, read as far. */
  if (!thread && !(flags & 0x100 /* CLONE_VM */) && event != PTRACE_EVENT_VFORK) {
    child->buffer = t->buffer;
    child->buffer_size = t->buffer_size;
    child->buffer_read = t->buffer_read;
  }
  start_child(child);
  resume(t, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
}

static void on_exec_event(struct task *t) {
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG_, t->tid, 0, &former);
  struct task *caller = t;
  if ((pid_t)former != t->tid) {
    /* A thread other than the leader exec'd: it now has the leader's pid. */
    struct task *other = task_of((pid_t)former, 0);
    if (other) {
      t->call = other->call;
      memcpy(t->args, other->args, sizeof t->args);
      free(t->exec_line);
      t->exec_line = other->exec_line;
      other->exec_line = NULL;
      t->in_call = 1;
      pid_t tid = t->tid;
      forget(other);
      t = task_of(tid, 1); /* forget() may have moved it up a slot */
    }
    caller = t;
  }
  caller->buffer = 0; /* the new image makes its own, if any */
  caller->every_call = 0; /* another program: not a worker whose closes are followed */
  if (caller->in_call && caller->call) {
    put_call(caller, 0, 0);
    caller->line_done = 1;
  }
  resume(t, caller->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
}

/*
 * A process's leader about to die of a signal (or of another thread's exit_group): its table is
 * still whole, and is what it held when it ended. One that called exit_group said it there.
 */
static void on_exit_event(struct task *t) {
  int called_exit_group = t->call && t->call->kind == K_EXIT_GROUP;
  t->exiting = 1;
  end_pause(t->tid);
  if (fd_tables && tgid_of(t->tid) == t->tid && !called_exit_group) put_table(t->tid, t->tid);
  resume(t, PTRACE_CONT_, 0);
}

static void on_signal_stop(struct task *t, int sig) {
  siginfo_t si;
  /* One held back while a filter was added, raised again: as it first came. */
  if (held_siginfo(t->tid, sig, &si)) ptrace(PTRACE_SETSIGINFO_, t->tid, 0, &si);
  if (ptrace(PTRACE_GETSIGINFO_, t->tid, 0, &si) < 0) {
    /* A group stop (SIGSTOP, SIGTSTP): let it run on, as strace without -D does. */
    resume(t, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
    return;
  }
  /* The SIGSTOP that paused it (pause.h): taken away. */
  if (is_our_stop(&si)) {
    resume(t, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
    return;
  }
  resume(t, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, sig);
}

static void signal_name(int sig, char *buf, size_t len) {
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev) snprintf(buf, len, "SIG%s", abbrev);
  else snprintf(buf, len, "%d", sig);
}

static pid_t root;
static int root_status;

/* What a wait said of `tid`: an end, or a stop to act on. */
static void handle(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    if (WIFEXITED(status)) putf("%d +++ exited with %d +++\n", tid, WEXITSTATUS(status));
    else {
      char name[32];
      signal_name(WTERMSIG(status), name, sizeof name);
      putf("%d +++ killed by %s%s +++\n", tid, name, WCOREDUMP(status) ? " (core dumped)" : "");
    }
    if (tid == root) root_status = status;
    end_pause(tid);
    flush_soon();
    struct task *t = task_of(tid, 0);
    if (t) forget(t);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  fd_stats_expire();
  struct task *t = task_of(tid, 1);
  t->stopped = 1;
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (!t->seen) {
    /* A new task's first stop (its SIGSTOP): it waits for its parent's clone line. */
    t->seen = 1;
    if (t->announced) resume(t, PTRACE_CONT_, 0);
    if (sig == SIGSTOP || event) return;
  }
  if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) on_entry(t);
  else if (sig == (SIGTRAP | 0x80)) on_syscall_stop(t);
  else if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE))
    on_clone_event(t, event);
  else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) on_exec_event(t);
  else if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) on_exit_event(t);
  else if (event) resume(t, PTRACE_CONT_, 0);
  else on_signal_stop(t, sig);
}

static int trace(void) {
  for (;;) {
    int status;
    /* Lines go out when due (output.h) before any wait, whether it blocks or not: one wait a stop. */
    flush_when_due();
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno != EINTR) break; /* ECHILD: every tracee is gone */
      end_pause_when_late();
    } else {
      handle(tid, status);
    }
    /* The stops of threads a pause held, once it has ended, in the order they came. */
    while (next_unpaused(&tid, &status)) handle(tid, status);
  }
  flush_out();
  if (WIFSIGNALED(root_status)) return 128 + WTERMSIG(root_status);
  return WEXITSTATUS(root_status);
}

/* ---------- the command line ---------- */

static void usage(const char *why) {
  fprintf(stderr, "prefork-tracer: %s\nusage: prefork-tracer [-f] [-q] [-y] [-yy] [--seccomp-bpf] [-s N] [-e signal=none] -e trace=NAME,... [-o FILE | --output-fd N] [--fd-tables [--marker-end BYTE]] [--closes-in-children] [--die-with PID] [--cpu N [--move-off PID]] -- COMMAND [ARG...]\n", why);
  exit(1);
}

/*
 * -V [--mkfifo PATH...]: says the version, and makes each PATH a fifo only we may open (ours:
 * prefork-check's probe of this binary also makes the first run's fifos, one program started
 * where there were two). Exit 2 when a fifo could not be made: the tracer itself can run.
 */
static int version(int argc, char **argv) {
  printf("prefork-tracer 1\n");
  if (argc == 0) return 0;
  if (strcmp(argv[0], "--mkfifo") != 0) usage("-V takes only --mkfifo PATH...");
  for (int i = 1; i < argc; i++)
    if (mkfifo(argv[i], 0600) != 0 || chmod(argv[i], 0600) != 0) {
      fprintf(stderr, "prefork-tracer: mkfifo %s: %s\n", argv[i], strerror(errno));
      return 2;
    }
  return 0;
}

/* The program as strace finds it: a name with a slash as it is, else the first executable file on PATH. */
static const char *find_program(const char *name) {
  static char found[4096];
  if (strchr(name, '/')) return name;
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *dir = path; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
    size_t len = strchr(dir, ':') ? (size_t)(strchr(dir, ':') - dir) : strlen(dir);
    snprintf(found, sizeof found, "%.*s/%s", (int)(len ? len : 1), len ? dir : ".", name);
    struct stat st;
    if (stat(found, &st) == 0 && S_ISREG(st.st_mode) && access(found, X_OK) == 0) return found;
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *output = NULL;
  int i = 1, has_trace = 0, output_fd = -1;
  pid_t die_with = 0, move_off = 0;
  int cpu = -1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) { i++; break; }
    if (strcmp(arg, "-f") == 0 || strcmp(arg, "-q") == 0 || strcmp(arg, "-qq") == 0 || strcmp(arg, "-y") == 0 || strcmp(arg, "-yy") == 0 ||
        strcmp(arg, "--seccomp-bpf") == 0)
      continue;
    if (strcmp(arg, "-s") == 0 && i + 1 < argc) {
      long limit = atol(argv[++i]);
      record_limit = limit > 0 && limit < RECORD_MAX ? (size_t)limit : RECORD_MAX;
      continue;
    }
    if (strcmp(arg, "-o") == 0 && i + 1 < argc) { output = argv[++i]; continue; }
    if (strcmp(arg, "--output-fd") == 0 && i + 1 < argc) { output_fd = atoi(argv[++i]); continue; }
    /* prefork-check's own: the kernel's table where a fork point may be (see tables.h). */
    if (strcmp(arg, "--fd-tables") == 0) { fd_tables = 1; continue; }
    if (strcmp(arg, "--marker-end") == 0 && i + 1 < argc) { marker_end = atoi(argv[++i]) & 0xff; continue; }
    if (strcmp(arg, "--closes-in-children") == 0) { closes_in_children = 1; continue; }
    if (strcmp(arg, "--die-with") == 0 && i + 1 < argc) { die_with = atoi(argv[++i]); continue; }
    if (strcmp(arg, "--cpu") == 0 && i + 1 < argc) { cpu = atoi(argv[++i]); continue; }
    if (strcmp(arg, "--move-off") == 0 && i + 1 < argc) { move_off = atoi(argv[++i]); continue; }
    if (strcmp(arg, "-e") == 0 && i + 1 < argc) {
      char *expr = argv[++i];
      if (strncmp(expr, "trace=", 6) == 0) { choose_calls(expr + 6); has_trace = 1; continue; }
      if (strcmp(expr, "signal=none") == 0) continue;
      usage("unknown -e expression");
    }
    if (strcmp(arg, "-V") == 0) return version(argc - i - 1, argv + i + 1);
    if (arg[0] == '-') usage("unknown option");
    break;
  }
  if (die_with > 0) {
    /* Set, then checked: a parent that ended before the prctl has left us to another one. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != die_with) {
      fprintf(stderr, "prefork-tracer: --die-with %d: that process has already ended\n", die_with);
      return 1;
    }
  }
  if (i >= argc) usage("must have PROG [ARGS]");
  if (!has_trace) usage("needs -e trace=...");
  if (cpu >= 0) run_on_cpu(cpu, move_off);
  const char *program = find_program(argv[i]);
  if (!program) {
    fprintf(stderr, "prefork-tracer: Can't stat '%s': No such file or directory\n", argv[i]);
    return 1;
  }
  if (output_fd >= 0) {
    /*
     * Close-on-exec before anything else looks at our fds: it is ours, not the app's. Blocking:
     * a full pipe must hold the tracer (and the app) up, never cost a line.
     */
    int flags = fcntl(output_fd, F_GETFL);
    if (fcntl(output_fd, F_SETFD, FD_CLOEXEC) != 0 || flags < 0 || fcntl(output_fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
      fprintf(stderr, "prefork-tracer: --output-fd %d: %s\n", output_fd, strerror(errno));
      return 1;
    }
    out_fd = output_fd;
  } else if (output) {
    out_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out_fd < 0) {
      fprintf(stderr, "prefork-tracer: Can't fopen '%s': %s\n", output, strerror(errno));
      return 1;
    }
  }
  note_start_streams();
  /* Only writes to the app's streams stop, where fds on them that appear later can be watched too. */
  int stream_fds[MAX_START_STREAM_FDS];
  int stream_fd_count = start_stream_fds(stream_fds, MAX_START_STREAM_FDS);
  int watch = fd_tables && can_inject && stream_fd_count >= 0;
  build_filter(watch ? stream_fds : NULL, watch ? (size_t)stream_fd_count : 0);
  signal(SIGPIPE, SIG_IGN);

  /*
   * Orphans (a daemon's grandchild, workers whose master was killed) become our children, not
   * init's: we reap them as they end. Where init reaps late (a container's pid 1 that never
   * waits), a killed daemon would otherwise stay a zombie holding its pid after the check, and
   * the next start of a server with a pid file would find it "already running".
   */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  pid_t tracer = getpid();
  pid_t child = fork();
  if (child < 0) { perror("prefork-tracer: fork"); return 1; }
  if (child == 0) {
    /* Until the tracer has set PTRACE_O_EXITKILL, its end would leave this child stopped, untraced. */
    if (die_with > 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (getppid() != tracer) _exit(1);
    }
    if (ptrace(PTRACE_TRACEME_, 0, 0, 0) < 0) {
      fprintf(stderr, "prefork-tracer: ptrace(PTRACE_TRACEME, ...): %s\n", strerror(errno));
      _exit(1);
    }
    raise(SIGSTOP);
    struct sock_fprog fprog = filter_program();
    /* Without CAP_SYS_ADMIN a filter needs no_new_privs; with it, setuid programs keep working. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
        fprintf(stderr, "prefork-tracer: seccomp filter: %s\n", strerror(errno));
        _exit(1);
      }
    }
    execv(program, argv + i);
    fprintf(stderr, "prefork-tracer: Can't stat '%s': %s\n", argv[i], strerror(errno));
    _exit(1);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
    fprintf(stderr, "prefork-tracer: ptrace(PTRACE_TRACEME, ...): Operation not permitted\n");
    return 1;
  }
  long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | (fd_tables ? PTRACE_O_TRACEEXIT : 0);
  if (ptrace(PTRACE_SETOPTIONS_, child, 0, (void *)options) < 0) {
    fprintf(stderr, "prefork-tracer: ptrace(PTRACE_SETOPTIONS, ...): %s\n", strerror(errno));
    kill(child, SIGKILL);
    return 1;
  }
  start_flush_timer();
  root = child;
  struct task *started = task_of(child, 1);
  started->seen = 1;
  started->announced = 1;
  if (watching_writes) watch_start(started, stream_fds, stream_fd_count);
  resume(started, PTRACE_CONT_, 0);
  return trace();
}

