/* The calls the tracer knows, which of them it traces, and the seccomp filter that traps them. */
#ifndef PREFORK_TRACER_CALLS_H
#define PREFORK_TRACER_CALLS_H
#include "common.h"
#include <linux/filter.h>

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


/* The bit x32's calls set in their number (x86_64 only; no call of ours reaches it elsewhere). */
#define X32_SYSCALL_BIT 0x40000000u

extern struct call CALLS[];
struct call *call_of(long nr);
/* Marks the calls of -e trace=LIST traced; exits on a name it does not know (`?name`: skipped). */
void choose_calls(char *list);
/*
 * Builds the filter for the traced calls: see filter_program. With `watched` (fds on the app's
 * stdout and stderr), writes are trapped only on those fds, and watching_writes is set: each fd
 * on them that appears later gets a filter of its own (watch_filter), else its writes are missed.
 */
void build_filter(const int *watched, size_t n);
extern int watching_writes;
struct sock_fprog filter_program(void);
/* A filter that traps the traced write family on `fds` only (n at most 8), or on every fd when n is -1 (valid until the next call). */
struct sock_fprog watch_filter(const int *fds, int n);
#endif
