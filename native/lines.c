/* One traced call as strace's line: its arguments as the model reads them, and its result. */
#include "lines.h"
#include <linux/seccomp.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include "fd-stat.h"
#include "flags.h"
#include "memory.h"
#include "output.h"
#include "sockets.h"

static void put_string_at(pid_t pid, unsigned long addr) {
  char buf[4096];
  if (addr == 0) { put("NULL"); return; }
  ssize_t n = read_cstr(pid, addr, buf, sizeof buf);
  if (n < 0) { putf("0x%lx", addr); return; }
  put("\"");
  put_escaped((unsigned char *)buf, (size_t)n);
  put("\"");
}

/*
 * An open's path argument: only where the call failed. Where it made an fd, the fd's target
 * (`= 3</abs/path>`) says what was opened, and reading the argument out of the app's memory
 * cost ~6 µs of each open's stop (a fifth of the tracer's own time on a start of 3,000 opens):
 * its address stands in, as strace shows memory it does not read.
 */
static void put_path_arg(pid_t pid, unsigned long addr, int ok) {
  if (ok) putf("%#lx", addr);
  else put_string_at(pid, addr);
}

/* ---------- fds: `3</path<ino 12>>`, `4<socket:[123]>`, `5<pipe:[9]>`, `6</dev/null<char 1:3>>` ---------- */

/* The `<...>` after an fd, from its link in /proc (already read: `target`, `n` bytes). */
static void put_annotation(pid_t pid, long fd, char *target, ssize_t n) {
  int deleted = 0;
  if (target[0] == '/' && n > 10 && strcmp(target + n - 10, " (deleted)") == 0) {
    deleted = 1;
    n -= 10;
    target[n] = 0;
  }
  put("<");
  if (target[0] == '/') {
    put_escaped((unsigned char *)target, (size_t)n);
    struct stat st;
    if (fd_stat(pid, fd, &st) != 0) {
      /* gone or unreadable: the path alone */
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      putf("<%s %u:%u>", S_ISCHR(st.st_mode) ? "char" : "block", major(st.st_rdev), minor(st.st_rdev));
    } else {
      /* Ours, not strace's: the file's inode, by which the kernel's table at the fork point knows
       * it again if it was renamed or unlinked since. Taken by a stat, as the table's is, so both
       * come from one source (fdinfo's `ino:` is another, and older kernels lack it). */
      putf("<ino %llu>", (unsigned long long)st.st_ino);
    }
  } else {
    unsigned long ino = 0;
    int named = 0;
    if (sscanf(target, "socket:[%lu]", &ino) == 1)
      named = put_inet_socket(tgid_of(pid), fd, ino) || put_unix_socket(ino);
    if (!named) put_bytes(target, (size_t)n);
  }
  put(deleted ? ">(deleted)" : ">");
}

/* `fd`, with its target when `all`, else only when it is a socket; its link is read once. */
static void put_fd_if(pid_t pid, long fd, int all) {
  putf("%ld", fd);
  if (fd < 0) return;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/%d/fd/%ld", pid, fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return;
  target[n] = 0;
  if (all || strncmp(target, "socket:[", 8) == 0) put_annotation(pid, fd, target, n);
}

/* `fd` with its target: `3</path<ino 12>>`, `4<TCP:[...]>`, `5<pipe:[9]>`, `6</dev/null<char 1:3>>`. */
static void put_fd(pid_t pid, long fd) { put_fd_if(pid, fd, 1); }

static void put_socket_fd(pid_t pid, long fd) { put_fd_if(pid, fd, 0); }

static void put_result(long rval, int is_error) {
  if (is_error) {
    const char *name = strerrorname_np((int)-rval);
    putf(" = -1 %s (%s)\n", name ? name : "EUNKNOWN", strerror((int)-rval));
  } else {
    putf(" = %ld\n", rval);
  }
}

static void put_fd_result(pid_t pid, long rval, int is_error) {
  if (is_error || rval < 0) { put_result(rval, is_error); return; }
  put(" = ");
  put_fd(pid, rval);
  put("\n");
}

static void put_numbers(const unsigned long long *args, int from, int to) {
  for (int i = from; i < to; i++) putf("%s%lld", i ? ", " : "", (long long)args[i]);
}

static void put_pair(pid_t pid, unsigned long addr, int ok) {
  int fds[2];
  if (ok && read_mem(pid, addr, fds, sizeof fds) == 0) {
    put("[");
    put_fd(pid, fds[0]);
    put(", ");
    put_fd(pid, fds[1]);
    put("]");
  } else {
    putf("0x%lx", addr);
  }
}

/* cmsg_data=[5<...>, 6<...>] for each SCM_RIGHTS message of a received msghdr. */
static void put_msghdr(pid_t pid, unsigned long addr, int ok) {
  struct msghdr msg;
  put("{");
  if (ok && read_mem(pid, addr, &msg, sizeof msg) == 0 && msg.msg_control && msg.msg_controllen) {
    size_t len = msg.msg_controllen < 65536 ? msg.msg_controllen : 65536;
    char *control = malloc(len);
    if (control && read_mem(pid, (unsigned long)msg.msg_control, control, len) == 0) {
      msg.msg_control = control;
      msg.msg_controllen = len;
      put("msg_control=[");
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        put("{cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[");
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < n; i++) {
          if (i) put(", ");
          put_fd(pid, fds[i]);
        }
        put("]}");
      }
      put("]");
    }
    free(control);
  }
  put("}");
}

/* The call's flags argument (c->flags_at) under the call's own prefix, as its table entry says. */
static void put_flags_arg(const struct call *c, const unsigned long long *a) {
  put_prefixed(a[c->flags_at], c->prefix, c->cloexec, c->nonblock);
}

/* A clone's pidfd (CLONE_PIDFD), which the kernel wrote at `addr`: `, parent_tid=[5<anon_inode:[pidfd]>]`. */
static void put_pidfd(pid_t pid, const char *field, unsigned long addr) {
  int pidfd = -1;
  read_mem(pid, addr, &pidfd, sizeof pidfd);
  putf(", %s=[", field);
  put_fd(pid, pidfd);
  put("]");
}

static int cloexec_ioctl(uint32_t cmd) { return cmd == FIOCLEX || cmd == FIONCLEX; }

static const char *ioctl_name(uint32_t cmd) {
  switch (cmd) {
    case FIOCLEX: return "FIOCLEX";
    case FIONCLEX: return "FIONCLEX";
    case TIOCGPTPEER: return "TIOCGPTPEER";
    default: return NULL;
  }
}

/* Whether a call that returns an fd only for some requests returned one. */
static int returns_fd(struct call *c, const unsigned long long *a) {
  if (strcmp(c->name, "bpf") == 0) {
    static const int cmds[] = {0, 5, 7, 13, 14, 17, 18, 19, 28, 30, 32, 33, 36};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) if ((int)a[0] == cmds[i]) return 1;
    return 0;
  }
  if (strcmp(c->name, "seccomp") == 0) return a[0] == SECCOMP_SET_MODE_FILTER && (a[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  return (a[2] & 1) == 0; /* landlock_create_ruleset: LANDLOCK_CREATE_RULESET_VERSION returns a number */
}

/* A trapped call's whole line, at its exit (clone's at its event; see said_at_entry). */
void put_call(struct task *t, long rval, int is_error) {
  struct call *c = t->call;
  const unsigned long long *a = t->args;
  pid_t pid = t->tid;
  int ok = !is_error;
  putf("%d %s(", pid, c->name);
  switch (c->kind) {
    case K_CREATES:
      for (int i = 0; i < c->nargs; i++) {
        if (i) put(", ");
        if (i == c->flags_at) put_flags_arg(c, a);
        else putf("%lld", (long long)a[i]);
      }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPEN:
      put_path_arg(pid, a[0], ok);
      put(", ");
      put_open_flags(a[1]);
      putf(", %#llo)", a[2]);
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPENAT:
      putf("%d, ", (int)a[0]);
      put_path_arg(pid, a[1], ok);
      put(", ");
      put_open_flags(a[2]);
      putf(", %#llo)", a[3]);
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPENAT2: {
      unsigned long long how[3] = {0, 0, 0};
      putf("%d, ", (int)a[0]);
      put_path_arg(pid, a[1], ok);
      put(", {flags=");
      read_mem(pid, a[2], how, sizeof how);
      put_open_flags(how[0]);
      putf("}, %lld)", a[3]);
      put_fd_result(pid, rval, is_error);
      return;
    }
    case K_OPEN_BY_HANDLE:
      putf("%d, 0x%llx, ", (int)a[0], a[1]);
      put_open_flags(a[2]);
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_CREAT:
      put_path_arg(pid, a[0], ok);
      putf(", %#llo)", a[1]);
      put_fd_result(pid, rval, is_error);
      return;
    case K_SOCKET:
    case K_SOCKETPAIR:
      put_family((long)a[0]);
      put(", ");
      put_socket_type(a[1]);
      putf(", %lld", (long long)a[2]);
      if (c->kind == K_SOCKETPAIR) { put(", "); put_pair(pid, a[3], ok); put(")"); put_result(rval, is_error); return; }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_PIPE:
      put_pair(pid, a[0], ok);
      if (c->flags_at >= 0) { put(", "); put_flags_arg(c, a); }
      put(")");
      put_result(rval, is_error);
      return;
    case K_ACCEPT: {
      int len = 0;
      put_fd(pid, (int)a[0]);
      put(", ");
      if (ok && a[2] && read_mem(pid, a[2], &len, sizeof len) == 0) put_sockaddr(pid, a[1], len);
      else putf("0x%llx", a[1]);
      putf(", [%d]", len);
      if (c->flags_at >= 0) { put(", "); put_flags_arg(c, a); }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    }
    case K_SIGNALFD:
      putf("%d, 0x%llx, %lld", (int)a[0], a[1], (long long)a[2]);
      if (c->flags_at >= 0) { put(", "); put_flags_arg(c, a); }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_FD_WHEN:
      put_numbers(a, 0, c->nargs);
      put(")");
      if (ok && returns_fd(c, a)) put_fd_result(pid, rval, is_error);
      else put_result(rval, is_error);
      return;
    case K_DUP:
      put_fd(pid, (int)a[0]);
      if (c->nargs >= 2) putf(", %d", (int)a[1]);
      if (c->flags_at >= 0) { put(", "); put_flags_arg(c, a); }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_FCNTL: {
      int cmd = (int)a[1];
      put_fd(pid, (int)a[0]);
      if (cmd == F_SETFD) putf(", F_SETFD, %s)", (a[2] & FD_CLOEXEC) ? "FD_CLOEXEC" : "0");
      else putf(", %s, %lld)", cmd == F_DUPFD ? "F_DUPFD" : cmd == F_DUPFD_CLOEXEC ? "F_DUPFD_CLOEXEC" : "F_GETFD", (long long)a[2]);
      if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) put_fd_result(pid, rval, is_error);
      else put_result(rval, is_error);
      return;
    }
    case K_IOCTL: {
      uint32_t cmd = (uint32_t)a[1];
      const char *name = ioctl_name(cmd);
      put_fd(pid, (int)a[0]);
      if (name) putf(", %s", name);
      else putf(", %#x", cmd);
      putf(", %lld)", (long long)a[2]);
      if (!cloexec_ioctl(cmd)) put_fd_result(pid, rval, is_error);
      else put_result(rval, is_error);
      return;
    }
    case K_CLOSE_RANGE: {
      struct flag flags[] = {{2, "CLOSE_RANGE_UNSHARE"}, {4, "CLOSE_RANGE_CLOEXEC"}, {0, 0}};
      putf("%u, %u, ", (unsigned)a[0], (unsigned)a[1]);
      put_flags(a[2], flags, "0");
      put(")");
      put_result(rval, is_error);
      return;
    }
    case K_UNSHARE:
      put_flags(a[0], CLONE_FLAGS, "0");
      put(")");
      put_result(rval, is_error);
      return;
    case K_ADDRESS:
      put_fd(pid, (int)a[0]);
      put(", ");
      put_sockaddr(pid, a[1], (long)a[2]);
      putf(", %lld)", (long long)a[2]);
      put_result(rval, is_error);
      return;
    case K_LISTEN:
      put_fd(pid, (int)a[0]);
      putf(", %lld)", (long long)a[1]);
      put_result(rval, is_error);
      return;
    case K_RECVMSG:
    case K_RECVMMSG: {
      struct flag flags[] = {{MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"}, {0, 0}};
      unsigned flags_at = c->kind == K_RECVMSG ? 2 : 3;
      put_fd(pid, (int)a[0]);
      put(", ");
      if (c->kind == K_RECVMSG) put_msghdr(pid, a[1], ok && rval >= 0);
      else {
        /* struct mmsghdr: a msghdr and its length, one per message received. */
        put("[");
        for (long i = 0; ok && i < rval && i < 1024; i++) {
          if (i) put(", ");
          put_msghdr(pid, a[1] + (unsigned long)i * sizeof(struct mmsghdr), 1);
        }
        putf("], %lld", (long long)a[2]);
      }
      put(", ");
      put_flags(a[flags_at] & MSG_CMSG_CLOEXEC, flags, "0");
      put(")");
      put_result(rval, is_error);
      return;
    }
    case K_CLONE: {
      put("flags=");
      put_flags(a[0] & ~0xffull, CLONE_FLAGS, "0");
      if (ok && (a[0] & CLONE_PIDFD) && a[2]) put_pidfd(pid, "parent_tid", a[2]);
      put(")");
      put_result(rval, is_error);
      return;
    }
    case K_CLONE3: {
      unsigned long long args[2] = {0, 0}; /* flags, pidfd pointer */
      read_mem(pid, a[0], args, sizeof args);
      put("{flags=");
      put_flags(args[0], CLONE_FLAGS, "0");
      if (ok && (args[0] & CLONE_PIDFD) && args[1]) put_pidfd(pid, "pidfd", args[1]);
      putf("}, %lld)", (long long)a[1]);
      put_result(rval, is_error);
      return;
    }
    case K_FORK:
    case K_PLAIN:
      put(")");
      put_result(rval, is_error);
      return;
    case K_EXEC:
      put(t->exec_line ? t->exec_line : "");
      put(")");
      put_result(rval, is_error);
      return;
    case K_OUTPUT:
      put_numbers(a, 0, c->nargs);
      put(")");
      put_result(rval, is_error);
      return;
    case K_PWRITE: /* to the app's stream (a record, fd -1, is said by records.c) */
      put_numbers(a, 0, c->nargs);
      put(")");
      put_result(rval, is_error);
      return;
    case K_CLOSE:
      put_socket_fd(pid, (int)a[0]); /* said at entry, still open: a socket's last addresses */
      put(")");
      put_result(rval, is_error);
      return;
    case K_EXIT_GROUP:
      putf("%d) = ?\n", (int)a[0]); /* it does not return */
      return;
  }
}

/* execve's path and argv, read at entry: `"/usr/bin/python3", ["python3", "app.py"], 0x0`. */
char *exec_arguments(pid_t pid, struct call *c, const unsigned long long *a) {
  /* Made in the (emptied) output buffer, kept well under its size, then taken back out. */
  begin_capture();
  int path_at = c->nargs == 5 ? 1 : 0;
  if (path_at) putf("%d, ", (int)a[0]);
  put_string_at(pid, a[path_at]);
  put(", [");
  for (int i = 0; i < 64; i++) {
    unsigned long arg = 0;
    if (read_mem(pid, a[path_at + 1] + (unsigned long)i * sizeof arg, &arg, sizeof arg) != 0 || arg == 0) break;
    if (i) put(", ");
    if (captured_length() > 32768) { put("..."); break; }
    put_string_at(pid, arg);
  }
  putf("], 0x%llx", a[path_at + 2]);
  return take_capture();
}

