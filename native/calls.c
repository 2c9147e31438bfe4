/* The calls the tracer knows, which of them it traces, and the seccomp filter that traps them. */
#include "calls.h"
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define CALL(name, ...) {#name, SYS_##name, __VA_ARGS__, 0, 0}
#define OUTPUT(name, nargs, fd_at) {#name, SYS_##name, K_OUTPUT, nargs, -1, "", 0, 0, 0, fd_at}
#define CREATES(name, nargs, at, prefix, cloexec, nonblock) CALL(name, K_CREATES, nargs, at, prefix, cloexec, nonblock)
#define KIND(name, kind, nargs) CALL(name, kind, nargs, -1, "", 0, 0)

struct call CALLS[] = {
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

struct call *call_of(long nr) {
  for (size_t i = 0; i < NCALLS; i++)
    if (CALLS[i].nr == nr) return &CALLS[i];
  return NULL;
}


/* ---------- the seccomp filter: trap what the model reads, allow the rest ---------- */

/* ioctls that change or make an fd the model follows, and those known to return a new fd. */
static const uint32_t IOCTLS_TRAPPED[] = {
  FIOCLEX, FIONCLEX, TIOCGPTPEER, NS_GET_USERNS, NS_GET_PARENT, SIOCGSKNS, TUNGETDEVNETNS,
  KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_CREATE_DEVICE, SECCOMP_IOCTL_NOTIF_ADDFD,
};
#define N_IOCTLS (sizeof IOCTLS_TRAPPED / sizeof IOCTLS_TRAPPED[0])
/* fcntl commands that make an fd or change close-on-exec. */
static const uint32_t FCNTLS_TRAPPED[] = {F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD};

/* A filter being built: the base filter, or one that adds an fd whose writes are trapped. */
struct program {
  struct sock_filter insns[1024];
  unsigned short len;
};
static struct program base;
static struct program *building = &base;

static void emit_insn(struct sock_filter insn) {
  if (building->len >= sizeof building->insns / sizeof building->insns[0]) {
    fprintf(stderr, "prefork-tracer: the seccomp filter is too long\n");
    exit(1);
  }
  building->insns[building->len++] = insn;
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

/* A block for call `c` (its number in the accumulator): `body` when it is that call, else on to the next block. */
#define BLOCK_FOR(c, body)                                  \
  do {                                                      \
    unsigned short at_ = building->len;                     \
    JEQ((uint32_t)(c)->nr, 0, 0);                           \
    unsigned short start_ = building->len;                  \
    body;                                                   \
    building->insns[at_].jf = (unsigned char)(building->len - start_); \
    LD(offsetof(struct seccomp_data, nr));                  \
  } while (0)

/* Whether the write family is traced (a marker is searched for): then pwrite64 is trapped on any fd. */
static int outputs_traced(void) {
  for (size_t i = 0; i < NCALLS; i++)
    if (CALLS[i].traced && CALLS[i].kind == K_OUTPUT) return 1;
  return 0;
}

static int writes_to(const struct call *c) { return c->kind == K_OUTPUT || c->kind == K_PWRITE; }

int watching_writes;
static uint32_t base_fds[1 + 63]; /* -1, and the fds on the streams (MAX_START_STREAM_FDS) */
static size_t base_fd_count;

void build_filter(const int *watched, size_t n) {
  int output_traced = outputs_traced();
  watching_writes = output_traced && watched != NULL;
  /* pwrite64 on fd -1 is an attribution record, trapped whatever else is. */
  base_fds[0] = 0xffffffffu;
  base_fd_count = 1;
  for (size_t i = 0; watching_writes && i < n && base_fd_count < sizeof base_fds / sizeof base_fds[0]; i++)
    base_fds[base_fd_count++] = (uint32_t)watched[i];
  LD(offsetof(struct seccomp_data, arch));
  JEQ(OUR_ARCH, 1, 0);
  RET(SECCOMP_RET_TRACE); /* another ABI (32-bit on x86_64): the tracer refuses it */
  LD(offsetof(struct seccomp_data, nr));
  /* x32 calls carry x86_64's arch with this bit in their number: refused too. */
  emit_insn((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
  RET(SECCOMP_RET_TRACE);
  for (size_t i = 0; i < NCALLS; i++) {
    struct call *c = &CALLS[i];
    if (!c->traced) continue;
    if (c->kind == K_IOCTL) BLOCK_FOR(c, trap_when_arg_in(1, IOCTLS_TRAPPED, N_IOCTLS));
    else if (c->kind == K_FCNTL) BLOCK_FOR(c, trap_when_arg_in(1, FCNTLS_TRAPPED, 3));
    else if (c->kind == K_PWRITE && !output_traced) BLOCK_FOR(c, trap_when_arg_in(0, base_fds, 1));
    else if (writes_to(c) && watching_writes)
      /* Only writes to the fds on the app's stdout and stderr: a later one gets a filter of its own (watch.h). */
      BLOCK_FOR(c, trap_when_arg_in(c->fd_at, base_fds + (c->kind == K_OUTPUT), base_fd_count - (c->kind == K_OUTPUT)));
    else {
      JEQ((uint32_t)c->nr, 0, 1);
      RET(SECCOMP_RET_TRACE);
    }
  }
  RET(SECCOMP_RET_ALLOW);
}

struct sock_fprog watch_filter(const int *fds, int n) {
  static struct program added;
  added.len = 0;
  building = &added;
  LD(offsetof(struct seccomp_data, arch));
  JEQ(OUR_ARCH, 1, 0);
  RET(SECCOMP_RET_ALLOW); /* the base filter refuses it */
  LD(offsetof(struct seccomp_data, nr));
  uint32_t values[8];
  for (int i = 0; i < n && i < 8; i++) values[i] = (uint32_t)fds[i];
  for (size_t i = 0; i < NCALLS; i++) {
    struct call *c = &CALLS[i];
    if (!c->traced || !writes_to(c)) continue;
    if (n < 0) {
      JEQ((uint32_t)c->nr, 0, 1);
      RET(SECCOMP_RET_TRACE);
    } else BLOCK_FOR(c, trap_when_arg_in(c->fd_at, values, n < 8 ? (size_t)n : 8));
  }
  RET(SECCOMP_RET_ALLOW);
  building = &base;
  return (struct sock_fprog){added.len, added.insns};
}

void choose_calls(char *list) {
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

struct sock_fprog filter_program(void) { return (struct sock_fprog){base.len, base.insns}; }
