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
 * Command line, a subset of strace's so the same arguments serve both:
 *   prefork-tracer [-f] [-q] [-y] [-yy] [--seccomp-bpf] [-s N] [-e signal=none]
 *                  -e trace=NAME,?NAME,... [-o FILE] -- COMMAND [ARG...]
 * A `?NAME` unknown on this architecture is skipped; an unknown NAME is an error.
 * Exits with the started process's status (128+N when killed by signal N), as strace does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/ptrace.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

/* <sys/ptrace.h> and <linux/ptrace.h> clash; the few requests used here. */
extern long ptrace(int request, pid_t pid, void *addr, void *data);
#define PTRACE_TRACEME_ 0
#define PTRACE_CONT_ 7
#define PTRACE_SYSCALL_ 24
#define PTRACE_SETOPTIONS_ 0x4200
#define PTRACE_GETEVENTMSG_ 0x4201
#define PTRACE_GETSIGINFO_ 0x4202

#if defined(__x86_64__)
#define OUR_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define OUR_ARCH AUDIT_ARCH_AARCH64
#else
#error "prefork-tracer supports x86_64 and aarch64"
#endif

/* Records are cut at -s bytes, as strace cuts strings; never above RECORD_MAX. */
#define RECORD_MAX 65536
static size_t record_limit = 4096;

/* ---------- output: strace's line format, buffered until the tracer would wait ---------- */

static int out_fd = 2;
static char out_buf[1 << 16];
static size_t out_len;

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(out_fd, out_buf + done, out_len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* the reader is gone: the app's tree is killed by our reaper */
    done += (size_t)n;
  }
  out_len = 0;
}

static void put_bytes(const char *s, size_t n) {
  if (out_len + n > sizeof out_buf) flush_out();
  if (n > sizeof out_buf) n = sizeof out_buf;
  memcpy(out_buf + out_len, s, n);
  out_len += n;
}

static void put(const char *s) { put_bytes(s, strlen(s)); }

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void putf(const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put_bytes(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Bytes as strace's C strings carry them: printable ASCII as is, the rest escaped. */
static void put_escaped(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') putf("\\%c", c);
    else if (c == '\n') put("\\n");
    else if (c == '\t') put("\\t");
    else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>') putf("\\x%02x", c);
    else put_bytes((const char *)&c, 1);
  }
}

/* ---------- the tracee's memory ---------- */

static int read_mem(pid_t pid, unsigned long addr, void *buf, size_t len) {
  struct iovec local = {buf, len}, remote = {(void *)addr, len};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* A NUL-terminated string of at most max-1 bytes; returns its length or -1. */
static ssize_t read_cstr(pid_t pid, unsigned long addr, char *buf, size_t max) {
  size_t got = 0;
  while (got + 1 < max) {
    /* Up to the next page boundary, so a read never crosses into an unmapped page. */
    size_t chunk = 4096 - ((addr + got) & 4095);
    if (chunk > max - 1 - got) chunk = max - 1 - got;
    struct iovec local = {buf + got, chunk}, remote = {(void *)(addr + got), chunk};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return got ? (ssize_t)got : -1;
    void *nul = memchr(buf + got, 0, (size_t)n);
    if (nul) return (char *)nul - buf;
    got += (size_t)n;
  }
  buf[got] = 0;
  return (ssize_t)got;
}

static void put_string_at(pid_t pid, unsigned long addr) {
  char buf[4096];
  if (addr == 0) { put("NULL"); return; }
  ssize_t n = read_cstr(pid, addr, buf, sizeof buf);
  if (n < 0) { putf("0x%lx", addr); return; }
  put("\"");
  put_escaped((unsigned char *)buf, (size_t)n);
  put("\"");
}

/* ---------- sockets as strace's -yy names them: `TCP:[127.0.0.1:80->10.0.0.2:5000]` ---------- */

static void put_inet_address(const struct sockaddr_storage *sa) {
  char text[INET6_ADDRSTRLEN];
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    putf("%s:%u", text, ntohs(in->sin_port));
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    putf("[%s]:%u", text, ntohs(in6->sin6_port));
  }
}

static int port_of(const struct sockaddr_storage *sa) {
  return ntohs(sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                                        : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* An inet socket, through a copy of it (pidfd_getfd): `TCP:[ino]`, `UDP:[local]`, `TCPv6:[local->peer]`. */
static int put_inet_socket(pid_t tgid, long fd, unsigned long ino) {
#ifdef SYS_pidfd_getfd
  int pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
  if (pidfd < 0) return 0;
  int copy = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
  close(pidfd);
  if (copy < 0) return 0;
  int domain = 0, type = 0, protocol = 0;
  socklen_t len = sizeof domain;
  getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &domain, &len);
  len = sizeof type;
  getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof protocol;
  getsockopt(copy, SOL_SOCKET, SO_PROTOCOL, &protocol, &len);
  if (domain == AF_NETLINK) {
    /* `NETLINK:[ROUTE:1234]`: its protocol and port id. */
    static const char *names[] = {"ROUTE", "UNUSED", "USERSOCK", "FIREWALL", "SOCK_DIAG", "NFLOG", "XFRM",
                                  "SELINUX", "ISCSI", "AUDIT", "FIB_LOOKUP", "CONNECTOR", "NETFILTER", "IP6_FW",
                                  "DNRTMSG", "KOBJECT_UEVENT", "GENERIC"};
    struct sockaddr_nl nl;
    socklen_t nl_len = sizeof nl;
    memset(&nl, 0, sizeof nl);
    getsockname(copy, (struct sockaddr *)&nl, &nl_len);
    close(copy);
    if (protocol >= 0 && protocol < (int)(sizeof names / sizeof names[0])) putf("NETLINK:[%s:%u]", names[protocol], nl.nl_pid);
    else putf("NETLINK:[%d:%u]", protocol, nl.nl_pid);
    return 1;
  }
  if (domain != AF_INET && domain != AF_INET6) { close(copy); return 0; }
  const char *name = protocol == IPPROTO_TCP ? "TCP" : protocol == IPPROTO_UDP ? "UDP"
                   : protocol == IPPROTO_UDPLITE ? "UDPLITE" : type == SOCK_RAW ? "RAW" : NULL;
  if (!name) { close(copy); return 0; }
  struct sockaddr_storage local, peer;
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  memset(&local, 0, sizeof local);
  int has_local = getsockname(copy, (struct sockaddr *)&local, &local_len) == 0 && port_of(&local) != 0;
  int has_peer = getpeername(copy, (struct sockaddr *)&peer, &peer_len) == 0;
  close(copy);
  putf("%s%s:[", name, domain == AF_INET6 ? "v6" : "");
  if (!has_local && !has_peer) putf("%lu", ino);
  else {
    put_inet_address(&local);
    if (has_peer) { put("->"); put_inet_address(&peer); }
  }
  put("]");
  return 1;
#else
  (void)tgid; (void)fd; (void)ino;
  return 0;
#endif
}

/* A unix socket, from the kernel's sock_diag: `UNIX-STREAM:[ino->peer,"path"]`. */
static int put_unix_socket(unsigned long ino) {
  static int diag = -1;
  if (diag < 0) diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (diag < 0) return 0;
  struct {
    struct nlmsghdr nlh;
    struct unix_diag_req req;
  } request = {
    .nlh = {.nlmsg_len = sizeof request, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
    .req = {.sdiag_family = AF_UNIX, .udiag_states = -1u, .udiag_ino = (uint32_t)ino,
            .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER,
            .udiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}},
  };
  if (send(diag, &request, sizeof request, 0) != (ssize_t)sizeof request) return 0;
  static char reply[8192];
  ssize_t n = recv(diag, reply, sizeof reply, 0);
  struct nlmsghdr *h = (struct nlmsghdr *)reply;
  if (n < (ssize_t)sizeof *h || !NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY) return 0;
  struct unix_diag_msg *msg = NLMSG_DATA(h);
  uint32_t peer = 0;
  const char *path = NULL;
  size_t path_len = 0;
  int rest = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *msg));
  for (struct rtattr *a = (struct rtattr *)(msg + 1); RTA_OK(a, rest); a = RTA_NEXT(a, rest)) {
    if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4) memcpy(&peer, RTA_DATA(a), 4);
    if (a->rta_type == UNIX_DIAG_NAME) { path = RTA_DATA(a); path_len = RTA_PAYLOAD(a); }
  }
  putf("%s:[%lu", msg->udiag_type == SOCK_STREAM ? "UNIX-STREAM" : msg->udiag_type == SOCK_SEQPACKET ? "UNIX-SEQPACKET" : "UNIX", ino);
  if (peer) putf("->%u", peer);
  if (path && path_len > 0) {
    if (path[0] == 0) { put(",@\""); put_escaped((const unsigned char *)path + 1, path_len - 1); }
    else { put(",\""); put_escaped((const unsigned char *)path, strnlen(path, path_len)); }
    put("\"");
  }
  put("]");
  return 1;
}

/* ---------- fds: `3</path>`, `4<socket:[123]>`, `5<pipe:[9]>`, `6</dev/null<char 1:3>>` ---------- */

static pid_t tgid_of(pid_t tid);

static void put_fd(pid_t pid, long fd) {
  putf("%ld", fd);
  if (fd < 0) return;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/%d/fd/%ld", pid, fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return;
  target[n] = 0;
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
    if (stat(link, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
      putf("<%s %u:%u>", S_ISCHR(st.st_mode) ? "char" : "block", major(st.st_rdev), minor(st.st_rdev));
  } else {
    unsigned long ino = 0;
    int named = 0;
    if (sscanf(target, "socket:[%lu]", &ino) == 1)
      named = put_inet_socket(tgid_of(pid), fd, ino) || put_unix_socket(ino);
    if (!named) put_bytes(target, (size_t)n);
  }
  put(deleted ? ">(deleted)" : ">");
}

/* `fd`, annotated only when it is a socket: what a close needs (a socket's last addresses). */
static void put_socket_fd(pid_t pid, long fd) {
  char link[64], target[64];
  snprintf(link, sizeof link, "/proc/%d/fd/%ld", pid, fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n > 8 && memcmp(target, "socket:[", 8) == 0) put_fd(pid, fd);
  else putf("%ld", fd);
}

/* ---------- flag words the model reads ---------- */

struct flag { unsigned long bit; const char *name; };

static void put_flags(unsigned long value, const struct flag *flags, const char *zero) {
  int any = 0;
  for (const struct flag *f = flags; f->name; f++) {
    if (f->bit && (value & f->bit) == f->bit) {
      putf("%s%s", any ? "|" : "", f->name);
      value &= ~f->bit;
      any = 1;
    }
  }
  if (value) putf("%s%#lx", any ? "|" : "", value);
  else if (!any) put(zero);
}

/* The kernel's O_LARGEFILE (glibc's is 0 on 64-bit), which strace names all the same. */
#if defined(__x86_64__)
#define LARGEFILE_BIT 0100000
#else
#define LARGEFILE_BIT 0400000
#endif
/* strace's order (the report keeps the words as written); a whole flag before its parts:
 * O_SYNC holds O_DSYNC, O_TMPFILE holds O_DIRECTORY. */
static const struct flag OPEN_FLAGS[] = {
  {O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"}, {O_TRUNC, "O_TRUNC"},
  {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"},
  {O_DIRECT, "O_DIRECT"}, {LARGEFILE_BIT, "O_LARGEFILE"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
  {O_CLOEXEC, "O_CLOEXEC"}, {O_ASYNC, "FASYNC"}, {O_PATH, "O_PATH"}, {O_TMPFILE, "O_TMPFILE"},
  {O_DIRECTORY, "O_DIRECTORY"}, {0, 0}};

static void put_open_flags(unsigned long value) {
  static const char *access[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  put(access[value & O_ACCMODE]);
  value &= ~(unsigned long)O_ACCMODE;
  if (value) { put("|"); put_flags(value, OPEN_FLAGS, ""); }
}

/* CLOEXEC and NONBLOCK under a call's own prefix (EFD_, SOCK_, MFD_, ...); other bits in hex. */
static void put_prefixed(unsigned long value, const char *prefix, unsigned long cloexec, unsigned long nonblock) {
  char c[40], nb[40];
  snprintf(c, sizeof c, "%sCLOEXEC", prefix);
  snprintf(nb, sizeof nb, "%sNONBLOCK", prefix);
  struct flag flags[] = {{cloexec, c}, {nonblock, nb}, {0, 0}};
  put_flags(value, flags, "0");
}

static const struct flag CLONE_FLAGS[] = {
  {0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
  {0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
  {0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"}, {0x80000, "CLONE_SETTLS"},
  {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"}, {0x400000, "CLONE_DETACHED"},
  {0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
  {0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
  {0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000UL, "CLONE_IO"}, {0, 0}};

static void put_family(long family) {
  switch (family) {
    case AF_UNIX: put("AF_UNIX"); break;
    case AF_INET: put("AF_INET"); break;
    case AF_INET6: put("AF_INET6"); break;
    case AF_NETLINK: put("AF_NETLINK"); break;
    case AF_PACKET: put("AF_PACKET"); break;
    default: putf("%ld", family);
  }
}

static void put_socket_type(unsigned long type) {
  static const char *types[] = {"0", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"};
  unsigned long base = type & 0xf;
  if (base < 6) put(types[base]);
  else putf("%lu", base);
  struct flag flags[] = {{SOCK_CLOEXEC, "SOCK_CLOEXEC"}, {SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {0, 0}};
  if (type & ~0xful) { put("|"); put_flags(type & ~0xful, flags, ""); }
}

/* `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}` and the like. */
static void put_sockaddr(pid_t pid, unsigned long addr, long len) {
  struct sockaddr_storage sa;
  if (addr == 0) { put("NULL"); return; }
  if (len <= 0 || len > (long)sizeof sa) len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  if (read_mem(pid, addr, &sa, (size_t)len) != 0) { putf("0x%lx", addr); return; }
  char text[INET6_ADDRSTRLEN];
  if (sa.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&sa;
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    putf("{sa_family=AF_INET, sin_port=htons(%u), sin_addr=inet_addr(\"%s\")}", ntohs(in->sin_port), text);
  } else if (sa.ss_family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    putf("{sa_family=AF_INET6, sin6_port=htons(%u), sin6_flowinfo=htonl(%u), inet_pton(AF_INET6, \"%s\", &sin6_addr), sin6_scope_id=%u}",
         ntohs(in6->sin6_port), ntohl(in6->sin6_flowinfo), text, in6->sin6_scope_id);
  } else if (sa.ss_family == AF_UNIX) {
    struct sockaddr_un *un = (struct sockaddr_un *)&sa;
    size_t max = (size_t)len > offsetof(struct sockaddr_un, sun_path) ? (size_t)len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (max > sizeof un->sun_path) max = sizeof un->sun_path;
    put("{sa_family=AF_UNIX");
    if (max > 0 && un->sun_path[0] == 0) {
      put(", sun_path=@\"");
      put_escaped((unsigned char *)un->sun_path + 1, max - 1);
      put("\"");
    } else if (max > 0) {
      put(", sun_path=\"");
      put_escaped((unsigned char *)un->sun_path, strnlen(un->sun_path, max));
      put("\"");
    }
    put("}");
  } else {
    put("{sa_family=");
    put_family(sa.ss_family);
    put("}");
  }
}

/* ---------- the calls ---------- */

enum kind {
  K_CREATES,      /* numbers, the flags at flags_at, the fd returned */
  K_OPEN,         /* open, mq_open: a name, open flags, a mode */
  K_OPENAT, K_OPENAT2, K_OPEN_BY_HANDLE, K_CREAT, K_SOCKET, K_SOCKETPAIR, K_PIPE, K_ACCEPT,
  K_SIGNALFD, K_FD_WHEN, K_DUP, K_FCNTL, K_IOCTL, K_CLOSE, K_CLOSE_RANGE, K_UNSHARE,
  K_ADDRESS,      /* bind, connect: fd, sockaddr */
  K_LISTEN, K_RECVMSG, K_RECVMMSG, K_CLONE, K_CLONE3, K_FORK, K_EXEC, K_EXIT_GROUP,
  K_OUTPUT,       /* the write family: numbers (the fd written to, the count returned) */
  K_PWRITE,       /* an output call, and with fd -1 an attribution record */
  K_PLAIN,        /* numbers and the number returned (setsid) */
};

struct call {
  const char *name;
  long nr;
  enum kind kind;
  int nargs;
  int flags_at;            /* K_CREATES, K_PIPE (pipe2), K_ACCEPT (accept4), K_DUP (dup3), K_SIGNALFD (signalfd4) */
  const char *prefix;      /* K_CREATES: the flags' prefix */
  unsigned long cloexec;   /* K_CREATES: the CLOEXEC bit */
  unsigned long nonblock;  /* K_CREATES: the NONBLOCK bit, if it has one */
  int traced;
  int fd_at;               /* K_OUTPUT, K_PWRITE: the argument that is the fd written to */
};

#define CALL(name, ...) {#name, SYS_##name, __VA_ARGS__, 0, 0}
#define OUTPUT(name, nargs, fd_at) {#name, SYS_##name, K_OUTPUT, nargs, -1, "", 0, 0, 0, fd_at}
#define CREATES(name, nargs, at, prefix, cloexec, nonblock) CALL(name, K_CREATES, nargs, at, prefix, cloexec, nonblock)
#define KIND(name, kind, nargs) CALL(name, kind, nargs, -1, "", 0, 0)

static struct call CALLS[] = {
#ifdef SYS_open
  KIND(open, K_OPEN, 3),
#endif
  KIND(openat, K_OPENAT, 4),
#ifdef SYS_openat2
  KIND(openat2, K_OPENAT2, 4),
#endif
#ifdef SYS_creat
  KIND(creat, K_CREAT, 2),
#endif
  KIND(open_by_handle_at, K_OPEN_BY_HANDLE, 3),
  KIND(socket, K_SOCKET, 3),
  KIND(socketpair, K_SOCKETPAIR, 4),
#ifdef SYS_pipe
  CALL(pipe, K_PIPE, 1, -1, "O_", 0, 0),
#endif
  CALL(pipe2, K_PIPE, 2, 1, "O_", O_CLOEXEC, O_NONBLOCK),
  CALL(accept, K_ACCEPT, 3, -1, "SOCK_", 0, 0),
  CALL(accept4, K_ACCEPT, 4, 3, "SOCK_", SOCK_CLOEXEC, SOCK_NONBLOCK),
#ifdef SYS_eventfd
  CREATES(eventfd, 1, -1, "EFD_", 0, 0),
#endif
  CREATES(eventfd2, 2, 1, "EFD_", O_CLOEXEC, O_NONBLOCK),
#ifdef SYS_epoll_create
  CREATES(epoll_create, 1, -1, "EPOLL_", 0, 0),
#endif
  CREATES(epoll_create1, 1, 0, "EPOLL_", O_CLOEXEC, 0),
  CREATES(memfd_create, 2, 1, "MFD_", 1, 0),
#ifdef SYS_memfd_secret
  CREATES(memfd_secret, 1, 0, "O_", O_CLOEXEC, 0),
#endif
#ifdef SYS_signalfd
  CALL(signalfd, K_SIGNALFD, 3, -1, "SFD_", 0, 0),
#endif
  CALL(signalfd4, K_SIGNALFD, 4, 3, "SFD_", O_CLOEXEC, O_NONBLOCK),
  CREATES(timerfd_create, 2, 1, "TFD_", O_CLOEXEC, O_NONBLOCK),
#ifdef SYS_inotify_init
  CREATES(inotify_init, 0, -1, "IN_", 0, 0),
#endif
  CREATES(inotify_init1, 1, 0, "IN_", O_CLOEXEC, O_NONBLOCK),
  CREATES(fanotify_init, 2, 0, "FAN_", 1, 2),
  CREATES(userfaultfd, 1, 0, "O_", O_CLOEXEC, O_NONBLOCK),
  CREATES(perf_event_open, 5, 4, "PERF_FLAG_FD_", 8, 0),
#ifdef SYS_pidfd_open
  CREATES(pidfd_open, 2, -1, "PIDFD_", 0, 0),
#endif
#ifdef SYS_pidfd_getfd
  CREATES(pidfd_getfd, 3, -1, "", 0, 0),
#endif
#ifdef SYS_io_uring_setup
  CREATES(io_uring_setup, 2, -1, "", 0, 0),
#endif
  KIND(mq_open, K_OPEN, 4),
#ifdef SYS_fsopen
  CREATES(fsopen, 2, 1, "FSOPEN_", 1, 0),
  CREATES(fsmount, 3, 1, "FSMOUNT_", 1, 0),
  CREATES(fspick, 3, 2, "FSPICK_", 1, 0),
  CREATES(open_tree, 3, 2, "OPEN_TREE_", O_CLOEXEC, 0),
#endif
  KIND(bpf, K_FD_WHEN, 3),
#ifdef SYS_landlock_create_ruleset
  KIND(landlock_create_ruleset, K_FD_WHEN, 3),
#endif
  KIND(seccomp, K_FD_WHEN, 3),
  KIND(ioctl, K_IOCTL, 3),
  KIND(recvmsg, K_RECVMSG, 3),
  KIND(recvmmsg, K_RECVMMSG, 5),
  KIND(dup, K_DUP, 1),
#ifdef SYS_dup2
  KIND(dup2, K_DUP, 2),
#endif
  CALL(dup3, K_DUP, 3, 2, "O_", O_CLOEXEC, 0),
  KIND(fcntl, K_FCNTL, 3),
  KIND(close, K_CLOSE, 1),
#ifdef SYS_close_range
  KIND(close_range, K_CLOSE_RANGE, 3),
#endif
  KIND(unshare, K_UNSHARE, 1),
  KIND(bind, K_ADDRESS, 3),
  KIND(connect, K_ADDRESS, 3),
  KIND(listen, K_LISTEN, 2),
  OUTPUT(write, 3, 0),
  OUTPUT(writev, 3, 0),
  KIND(pwrite64, K_PWRITE, 4),
  OUTPUT(pwritev, 4, 0),
#ifdef SYS_pwritev2
  OUTPUT(pwritev2, 5, 0),
#endif
  OUTPUT(sendto, 6, 0),
  OUTPUT(sendmsg, 3, 0),
  OUTPUT(vmsplice, 4, 0),
  OUTPUT(sendfile, 4, 0),
  OUTPUT(splice, 6, 2),
  OUTPUT(tee, 4, 1),
#ifdef SYS_copy_file_range
  OUTPUT(copy_file_range, 6, 2),
#endif
  KIND(clone, K_CLONE, 5),
#ifdef SYS_clone3
  KIND(clone3, K_CLONE3, 2),
#endif
#ifdef SYS_fork
  KIND(fork, K_FORK, 0),
  KIND(vfork, K_FORK, 0),
#endif
  KIND(execve, K_EXEC, 3),
  KIND(execveat, K_EXEC, 5),
  KIND(exit_group, K_EXIT_GROUP, 1),
  KIND(setsid, K_PLAIN, 0),
};
#define NCALLS (sizeof CALLS / sizeof CALLS[0])

static struct call *call_of(long nr) {
  for (size_t i = 0; i < NCALLS; i++)
    if (CALLS[i].nr == nr) return &CALLS[i];
  return NULL;
}

/* ---------- the seccomp filter: trap what the model reads, allow the rest ---------- */

/* ioctls that change or make an fd the model follows, and those known to return a new fd. */
static const uint32_t IOCTLS_TRAPPED[] = {
  0x5451 /* FIOCLEX */, 0x5450 /* FIONCLEX */, 0x5441 /* TIOCGPTPEER */,
  0xb701 /* NS_GET_USERNS */, 0xb702 /* NS_GET_PARENT */, 0x894c /* SIOCGSKNS */,
  0x54e3 /* TUNGETDEVNETNS */, 0xae01 /* KVM_CREATE_VM */, 0xae41 /* KVM_CREATE_VCPU */,
  0xc00caee0 /* KVM_CREATE_DEVICE */, 0x40182103 /* SECCOMP_IOCTL_NOTIF_ADDFD */,
};
#define N_IOCTLS (sizeof IOCTLS_TRAPPED / sizeof IOCTLS_TRAPPED[0])
/* fcntl commands that make an fd or change close-on-exec. */
static const uint32_t FCNTLS_TRAPPED[] = {F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD};

static struct sock_filter prog[1024];
static unsigned short prog_len;

static void emit_insn(struct sock_filter insn) {
  if (prog_len >= sizeof prog / sizeof prog[0]) {
    fprintf(stderr, "prefork-tracer: the seccomp filter is too long\n");
    exit(1);
  }
  prog[prog_len++] = insn;
}

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define LD(off) emit_insn((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))
#define JEQ(k, t, f) emit_insn((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f)))
#define RET(k) emit_insn((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (k)))

/* Traps the call when argument `arg`'s low 32 bits are one of `values`; else allows it. */
static void trap_when_arg_in(int arg, const uint32_t *values, size_t n) {
  LD(ARG_LO(arg));
  for (size_t i = 0; i < n; i++) JEQ(values[i], (unsigned char)(n - i), 0);
  RET(SECCOMP_RET_ALLOW);
  RET(SECCOMP_RET_TRACE);
}

static void build_filter(int output_traced) {
  static const uint32_t MINUS_ONE[] = {0xffffffffu};
  LD(offsetof(struct seccomp_data, arch));
  JEQ(OUR_ARCH, 1, 0);
  RET(SECCOMP_RET_TRACE); /* another ABI (32-bit on x86_64): the tracer refuses it */
  LD(offsetof(struct seccomp_data, nr));
  for (size_t i = 0; i < NCALLS; i++) {
    struct call *c = &CALLS[i];
    if (!c->traced) continue;
    if (c->kind == K_IOCTL || c->kind == K_FCNTL || (c->kind == K_PWRITE && !output_traced)) {
      /* nr matches: a block of its own; else on to the next call (the block's length ahead). */
      unsigned short at = prog_len;
      JEQ((uint32_t)c->nr, 0, 0);
      unsigned short start = prog_len;
      if (c->kind == K_IOCTL) trap_when_arg_in(1, IOCTLS_TRAPPED, N_IOCTLS);
      else if (c->kind == K_FCNTL) trap_when_arg_in(1, FCNTLS_TRAPPED, 3);
      else trap_when_arg_in(0, MINUS_ONE, 1);
      prog[at].jf = (unsigned char)(prog_len - start);
      LD(offsetof(struct seccomp_data, nr));
    } else {
      JEQ((uint32_t)c->nr, 0, 1);
      RET(SECCOMP_RET_TRACE);
    }
  }
  RET(SECCOMP_RET_ALLOW);
}

/* ---------- tasks ---------- */

struct task {
  pid_t tid;
  pid_t tgid;          /* its process: itself, or the thread group it joined */
  int used;
  int seen;            /* its first stop came */
  int announced;       /* its parent's clone line is out: it may run */
  int in_call;         /* stopped at a trapped call's entry, resumed to its exit */
  int line_done;       /* the call's line is out already (clone at its event, exec) */
  struct call *call;
  unsigned long long args[6];
  char *exec_line;     /* execve's arguments, read at entry (gone after it) */
};

#define MAX_TASKS 65536
static struct task tasks[MAX_TASKS];

static struct task *task_of(pid_t tid, int create) {
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

static pid_t tgid_of(pid_t tid) {
  struct task *t = task_of(tid, 0);
  return t && t->tgid ? t->tgid : tid;
}

/* Open addressing: a removed slot's followers move up so lookups still find them. */
static void forget(struct task *t) {
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

/* ---------- lines ---------- */

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

static int cloexec_ioctl(uint32_t cmd) { return cmd == 0x5451 || cmd == 0x5450; }

static const char *ioctl_name(uint32_t cmd) {
  switch (cmd) {
    case 0x5451: return "FIOCLEX";
    case 0x5450: return "FIONCLEX";
    case 0x5441: return "TIOCGPTPEER";
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

/* A trapped call's whole line, at its exit (clone's at its event). */
static void put_call(struct task *t, long rval, int is_error) {
  struct call *c = t->call;
  const unsigned long long *a = t->args;
  pid_t pid = t->tid;
  int ok = !is_error;
  putf("%d %s(", pid, c->name);
  switch (c->kind) {
    case K_CREATES:
      for (int i = 0; i < c->nargs; i++) {
        if (i) put(", ");
        if (i == c->flags_at) put_prefixed(a[i], c->prefix, c->cloexec, c->nonblock);
        else putf("%lld", (long long)a[i]);
      }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPEN:
      put_string_at(pid, a[0]);
      put(", ");
      put_open_flags(a[1]);
      putf(", %#llo)", a[2]);
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPENAT:
      putf("%d, ", (int)a[0]);
      put_string_at(pid, a[1]);
      put(", ");
      put_open_flags(a[2]);
      putf(", %#llo)", a[3]);
      put_fd_result(pid, rval, is_error);
      return;
    case K_OPENAT2: {
      unsigned long long how[3] = {0, 0, 0};
      putf("%d, ", (int)a[0]);
      put_string_at(pid, a[1]);
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
      put_string_at(pid, a[0]);
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
      if (c->flags_at >= 0) { put(", "); put_prefixed(a[1], "O_", O_CLOEXEC, O_NONBLOCK); }
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
      if (c->flags_at >= 0) { put(", "); put_prefixed(a[3], "SOCK_", SOCK_CLOEXEC, SOCK_NONBLOCK); }
      put(")");
      put_fd_result(pid, rval, is_error);
      return;
    }
    case K_SIGNALFD:
      putf("%d, 0x%llx, %lld", (int)a[0], a[1], (long long)a[2]);
      if (c->flags_at >= 0) { put(", "); put_prefixed(a[3], "SFD_", O_CLOEXEC, O_NONBLOCK); }
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
      if (c->nargs >= 3) { put(", "); put_prefixed(a[2], "O_", O_CLOEXEC, 0); }
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
      if (ok && (a[0] & 0x1000) && a[2]) {
        int pidfd = -1;
        read_mem(pid, a[2], &pidfd, sizeof pidfd);
        put(", parent_tid=[");
        put_fd(pid, pidfd);
        put("]");
      }
      put(")");
      put_result(rval, is_error);
      return;
    }
    case K_CLONE3: {
      unsigned long long args[2] = {0, 0}; /* flags, pidfd pointer */
      read_mem(pid, a[0], args, sizeof args);
      put("{flags=");
      put_flags(args[0], CLONE_FLAGS, "0");
      if (ok && (args[0] & 0x1000) && args[1]) {
        int pidfd = -1;
        read_mem(pid, args[1], &pidfd, sizeof pidfd);
        put(", pidfd=[");
        put_fd(pid, pidfd);
        put("]");
      }
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
    case K_PWRITE:
      if ((int)a[0] == -1) {
        /* An attribution record: the bytes, as the bootstrap wrote them. */
        size_t len = a[2] < record_limit ? (size_t)a[2] : record_limit;
        static unsigned char record[RECORD_MAX];
        put("-1, \"");
        if (read_mem(pid, a[1], record, len) == 0) put_escaped(record, len);
        putf("\"%s, %lld, %lld)", a[2] > len ? "..." : "", (long long)a[2], (long long)a[3]);
      } else {
        put_numbers(a, 0, c->nargs);
        put(")");
      }
      put_result(rval, is_error);
      return;
    case K_CLOSE:
    case K_EXIT_GROUP:
      break; /* at entry */
  }
}

/* execve's path and argv, read at entry: `"/usr/bin/python3", ["python3", "app.py"], 0x0`. */
static char *exec_arguments(pid_t pid, struct call *c, const unsigned long long *a) {
  /* Made in the (emptied) output buffer, kept well under its size, then taken back out. */
  flush_out();
  size_t saved = out_len;
  int path_at = c->nargs == 5 ? 1 : 0;
  if (path_at) putf("%d, ", (int)a[0]);
  put_string_at(pid, a[path_at]);
  put(", [");
  for (int i = 0; i < 64; i++) {
    unsigned long arg = 0;
    if (read_mem(pid, a[path_at + 1] + (unsigned long)i * sizeof arg, &arg, sizeof arg) != 0 || arg == 0) break;
    if (i) put(", ");
    if (out_len > sizeof out_buf / 2) { put("..."); break; }
    put_string_at(pid, arg);
  }
  putf("], 0x%llx", a[path_at + 2]);
  char *text = strndup(out_buf + saved, out_len - saved);
  out_len = saved;
  return text;
}

/* ---------- the loop ---------- */

static void resume(pid_t tid, int request, int sig) {
  if (ptrace(request, tid, 0, (void *)(long)sig) < 0 && errno != ESRCH)
    fprintf(stderr, "prefork-tracer: ptrace resume %d: %s\n", tid, strerror(errno));
}

static int get_info(pid_t tid, struct ptrace_syscall_info *info) {
  return ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof *info, info) < 0 ? -1 : 0;
}

/* The app's own stdout and stderr (ours, passed on): a write reaches them through any fd on the same file. */
static struct stat start_streams[2];
static int start_stream_count;

static void note_start_streams(void) {
  for (int fd = 1; fd <= 2; fd++)
    if (fstat(fd, &start_streams[start_stream_count]) == 0) start_stream_count++;
}

/*
 * Whether a write to `fd` may carry the marker (it is on the file of the app's stdout or stderr,
 * whichever description) or tell of a socket's addresses: only those are said.
 */
static int may_reach_start_streams(pid_t pid, int fd) {
  char link[64];
  struct stat st;
  snprintf(link, sizeof link, "/proc/%d/fd/%d", pid, fd);
  if (stat(link, &st) != 0) return 1; /* not to be judged here: said, as strace would */
  if (S_ISSOCK(st.st_mode)) return 1;
  for (int i = 0; i < start_stream_count; i++)
    if (st.st_dev == start_streams[i].st_dev && st.st_ino == start_streams[i].st_ino) return 1;
  return 0;
}

/* A trapped call's entry (a seccomp stop). */
static void on_entry(struct task *t) {
  struct ptrace_syscall_info info;
  if (get_info(t->tid, &info) < 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    resume(t->tid, PTRACE_CONT_, 0);
    return;
  }
  if (info.arch != OUR_ARCH) {
    fprintf(stderr, "prefork-tracer: pid %d runs a program of another architecture (32-bit?): trace it with --tracer strace\n", t->tid);
    kill(t->tid, SIGKILL);
    return;
  }
  struct call *c = call_of((long)info.seccomp.nr);
  if (!c) { resume(t->tid, PTRACE_CONT_, 0); return; }
  t->call = c;
  memcpy(t->args, info.seccomp.args, sizeof t->args);
  if (c->kind == K_CLOSE) {
    /* The kernel frees the number as close enters: said now, before another thread's open can reuse it. */
    putf("%d close(", t->tid);
    put_socket_fd(t->tid, (int)t->args[0]); /* still open: a socket's last addresses */
    put(") = 0\n");
    resume(t->tid, PTRACE_CONT_, 0);
    return;
  }
  if (c->kind == K_EXIT_GROUP) {
    putf("%d exit_group(%d) = ?\n", t->tid, (int)t->args[0]);
    resume(t->tid, PTRACE_CONT_, 0);
    return;
  }
  if ((c->kind == K_OUTPUT || (c->kind == K_PWRITE && (int)t->args[0] != -1)) && !may_reach_start_streams(t->tid, (int)t->args[c->fd_at])) {
    /* Bytes that cannot be the marker's, to a file that is no socket: nothing for the model. */
    resume(t->tid, PTRACE_CONT_, 0);
    return;
  }
  if (c->kind == K_PWRITE && (int)t->args[0] == -1) {
    /* An attribution record: fd -1 always fails with EBADF, so it is said whole at its entry. */
    put_call(t, -EBADF, 1);
    resume(t->tid, PTRACE_CONT_, 0);
    return;
  }
  if (c->kind == K_EXEC) {
    free(t->exec_line);
    t->exec_line = exec_arguments(t->tid, c, t->args);
  }
  t->in_call = 1;
  t->line_done = 0;
  resume(t->tid, PTRACE_SYSCALL_, 0);
}

static void on_exit_stop(struct task *t) {
  struct ptrace_syscall_info info;
  if (t->in_call && !t->line_done && get_info(t->tid, &info) == 0 && info.op == PTRACE_SYSCALL_INFO_EXIT)
    put_call(t, (long)info.exit.rval, info.exit.is_error);
  t->in_call = 0;
  resume(t->tid, PTRACE_CONT_, 0);
}

static void start_child(struct task *child) {
  child->announced = 1;
  if (child->seen) resume(child->tid, PTRACE_CONT_, 0);
}

/* fork, vfork, clone: the new task's pid is known at this stop; its line goes out now, before it runs. */
static void on_clone_event(struct task *t) {
  unsigned long child_pid = 0;
  ptrace(PTRACE_GETEVENTMSG_, t->tid, 0, &child_pid);
  if (t->in_call && t->call) {
    put_call(t, (long)child_pid, 0);
    t->line_done = 1;
  }
  struct task *child = task_of((pid_t)child_pid, 1);
  unsigned long long flags = 0;
  if (t->call && t->call->kind == K_CLONE) flags = t->args[0];
  else if (t->call && t->call->kind == K_CLONE3) read_mem(t->tid, t->args[0], &flags, sizeof flags);
  child->tgid = (flags & 0x10000 /* CLONE_THREAD */) ? tgid_of(t->tid) : (pid_t)child_pid;
  start_child(child);
  resume(t->tid, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
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
  if (caller->in_call && caller->call) {
    put_call(caller, 0, 0);
    caller->line_done = 1;
  }
  resume(t->tid, caller->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
}

static void on_signal_stop(struct task *t, int sig) {
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO_, t->tid, 0, &si) < 0) {
    /* A group stop (SIGSTOP, SIGTSTP): let it run on, as strace without -D does. */
    resume(t->tid, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, 0);
    return;
  }
  resume(t->tid, t->in_call ? PTRACE_SYSCALL_ : PTRACE_CONT_, sig);
}

static void signal_name(int sig, char *buf, size_t len) {
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev) snprintf(buf, len, "SIG%s", abbrev);
  else snprintf(buf, len, "%d", sig);
}

static int trace(pid_t root) {
  int root_status = 0;
  for (;;) {
    int status;
    pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid == 0) {
      /* Nothing to do until the app makes its next trapped call: the reader gets the lines now. */
      flush_out();
      tid = waitpid(-1, &status, __WALL);
    }
    if (tid < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: every tracee is gone */
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (WIFEXITED(status)) putf("%d +++ exited with %d +++\n", tid, WEXITSTATUS(status));
      else {
        char name[32];
        signal_name(WTERMSIG(status), name, sizeof name);
        putf("%d +++ killed by %s%s +++\n", tid, name, WCOREDUMP(status) ? " (core dumped)" : "");
      }
      if (tid == root) root_status = status;
      struct task *t = task_of(tid, 0);
      if (t) forget(t);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    struct task *t = task_of(tid, 1);
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (!t->seen) {
      /* A new task's first stop (its SIGSTOP): it waits for its parent's clone line. */
      t->seen = 1;
      if (t->announced) resume(tid, PTRACE_CONT_, 0);
      if (sig == SIGSTOP || event) continue;
    }
    if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) on_entry(t);
    else if (sig == (SIGTRAP | 0x80)) on_exit_stop(t);
    else if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE))
      on_clone_event(t);
    else if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) on_exec_event(t);
    else if (event) resume(tid, PTRACE_CONT_, 0);
    else on_signal_stop(t, sig);
  }
  flush_out();
  if (WIFSIGNALED(root_status)) return 128 + WTERMSIG(root_status);
  return WEXITSTATUS(root_status);
}

/* ---------- the command line ---------- */

static void usage(const char *why) {
  fprintf(stderr, "prefork-tracer: %s\nusage: prefork-tracer [-f] [-q] [-y] [-yy] [--seccomp-bpf] [-s N] [-e signal=none] -e trace=NAME,... [-o FILE] -- COMMAND [ARG...]\n", why);
  exit(1);
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

static void choose_calls(char *list) {
  if (strcmp(list, "none") == 0) return;
  for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
    int optional = name[0] == '?';
    if (optional) name++;
    int found = 0;
    for (size_t i = 0; i < NCALLS; i++)
      if (strcmp(CALLS[i].name, name) == 0) { CALLS[i].traced = 1; found = 1; }
    if (!found && !optional) {
      /* Calls this architecture does not have (open, pipe, dup2 on arm64) are made another way, which is traced. */
#if defined(__aarch64__)
      static const char *absent[] = {"open", "creat", "pipe", "eventfd", "epoll_create", "signalfd", "inotify_init", "dup2", "fork", "vfork", NULL};
      for (const char **a = absent; *a; a++) if (strcmp(*a, name) == 0) found = 1;
#endif
      if (!found) {
        fprintf(stderr, "prefork-tracer: invalid system call '%s'\n", name);
        exit(1);
      }
    }
  }
}

int main(int argc, char **argv) {
  const char *output = NULL;
  int i = 1, has_trace = 0;
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
    if (strcmp(arg, "-e") == 0 && i + 1 < argc) {
      char *expr = argv[++i];
      if (strncmp(expr, "trace=", 6) == 0) { choose_calls(expr + 6); has_trace = 1; continue; }
      if (strcmp(expr, "signal=none") == 0) continue;
      usage("unknown -e expression");
    }
    if (strcmp(arg, "-V") == 0) { printf("prefork-tracer 1\n"); return 0; }
    if (arg[0] == '-') usage("unknown option");
    break;
  }
  if (i >= argc) usage("must have PROG [ARGS]");
  if (!has_trace) usage("needs -e trace=...");
  const char *program = find_program(argv[i]);
  if (!program) {
    fprintf(stderr, "prefork-tracer: Can't stat '%s': No such file or directory\n", argv[i]);
    return 1;
  }
  if (output) {
    out_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out_fd < 0) {
      fprintf(stderr, "prefork-tracer: Can't fopen '%s': %s\n", output, strerror(errno));
      return 1;
    }
  }
  int output_traced = 0;
  for (size_t c = 0; c < NCALLS; c++) if (CALLS[c].traced && CALLS[c].kind == K_OUTPUT) output_traced = 1;
  build_filter(output_traced);
  note_start_streams();
  signal(SIGPIPE, SIG_IGN);

  pid_t child = fork();
  if (child < 0) { perror("prefork-tracer: fork"); return 1; }
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME_, 0, 0, 0) < 0) {
      fprintf(stderr, "prefork-tracer: ptrace(PTRACE_TRACEME, ...): %s\n", strerror(errno));
      _exit(1);
    }
    raise(SIGSTOP);
    struct sock_fprog fprog = {prog_len, prog};
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
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SETOPTIONS_, child, 0, (void *)options) < 0) {
    fprintf(stderr, "prefork-tracer: ptrace(PTRACE_SETOPTIONS, ...): %s\n", strerror(errno));
    kill(child, SIGKILL);
    return 1;
  }
  struct task *root = task_of(child, 1);
  root->seen = 1;
  root->announced = 1;
  resume(child, PTRACE_CONT_, 0);
  return trace(child);
}
