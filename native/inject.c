/*
 * Making a held tracee run system calls of the tracer's choosing, from a syscall stop of one of
 * its own. At an entry stop that call is replaced by the first; each next one (or, at an exit
 * stop, each one) is made by resuming it onto the syscall instruction again with other registers,
 * and each result is read at its exit stop. Then its own registers are put back: at an entry, at
 * that instruction, so its call is made again from the start; at an exit, as the call left them.
 * Resuming passes through user mode, where a pending signal would run the app's handler in the
 * middle: every signal is blocked meanwhile (PTRACE_SETSIGMASK), and comes when it is unblocked,
 * as sent. Only SIGSTOP cannot be blocked: it is held back and raised again.
 */
#include "inject.h"
#include <linux/ptrace.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "memory.h"

extern long ptrace(int request, pid_t pid, void *addr, void *data);
#define PTRACE_SYSCALL_ 24
#define PTRACE_GETSIGINFO_ 0x4202
#define PTRACE_GET_SYSCALL_INFO_ 0x420e
#define PTRACE_GETSIGMASK_ 0x420a
#define PTRACE_SETSIGMASK_ 0x420b

/* The signals held back while a filter is added (SIGSTOP: the only one not blocked then), in the order they came. */
static struct held {
  pid_t tid;
  int raised;
  siginfo_t info;
} *held;
static int held_count, held_room;

static void drop_held(int i) {
  memmove(&held[i], &held[i + 1], (size_t)(held_count - i - 1) * sizeof *held);
  held_count--;
}

static void hold(pid_t tid, const siginfo_t *info) {
  if (held_count == held_room) {
    held_room = held_room ? 2 * held_room : 64;
    held = realloc(held, (size_t)held_room * sizeof *held);
    if (!held) {
      fprintf(stderr, "prefork-tracer: out of memory\n");
      exit(1);
    }
  }
  held[held_count++] = (struct held){tid, 0, *info};
}

int held_siginfo(pid_t tid, int sig, siginfo_t *info) {
  for (int i = 0; i < held_count; i++)
    if (held[i].tid == tid && held[i].raised && held[i].info.si_signo == sig) {
      *info = held[i].info;
      drop_held(i);
      return 1;
    }
  return 0;
}

static void raise_held(pid_t tid, pid_t tgid) {
  for (int i = 0; i < held_count; i++)
    if (held[i].tid == tid && !held[i].raised) {
      held[i].raised = 1;
      syscall(SYS_tgkill, tgid, tid, held[i].info.si_signo);
    }
}

static void forget_held(pid_t tid) {
  for (int i = held_count - 1; i >= 0; i--)
    if (held[i].tid == tid) drop_held(i);
}

/*
 * Resumes `tid` to its next syscall stop of kind `op` (PTRACE_SYSCALL_INFO_ENTRY or _EXIT),
 * holding back the signals it stops for on the way. -1: it stopped otherwise (an exit event) or is
 * gone; *status says how.
 */
static int resume_to(pid_t tid, int op, int *status) {
  *status = -1;
  if (ptrace(PTRACE_SYSCALL_, tid, 0, 0) < 0) return -1;
  for (;;) {
    pid_t got = waitpid(tid, status, __WALL);
    if (got < 0) {
      if (errno == EINTR) continue;
      *status = -1;
      return -1;
    }
    if (!WIFSTOPPED(*status)) return -1;
    int sig = WSTOPSIG(*status);
    if (sig == (SIGTRAP | 0x80)) {
      struct ptrace_syscall_info info;
      if (ptrace(PTRACE_GET_SYSCALL_INFO_, tid, (void *)sizeof info, &info) < 0) return -1;
      if (info.op == op) return 0;
    } else if (*status >> 16 == PTRACE_EVENT_SECCOMP) {
      /* The filter traps seccomp itself (it can make an fd): not for this one to say. */
    } else if (*status >> 16) {
      return -1; /* PTRACE_EVENT_EXIT: another thread's exit_group, or SIGKILL */
    } else {
      siginfo_t si;
      if (ptrace(PTRACE_GETSIGINFO_, tid, 0, &si) == 0) hold(tid, &si);
    }
    if (ptrace(PTRACE_SYSCALL_, tid, 0, 0) < 0) return -1;
  }
}

#if defined(__x86_64__)
#include <sys/user.h>
#define PTRACE_GETREGS_ 12
#define PTRACE_SETREGS_ 13

const int can_inject = 1;

/*
 * Runs call `nr` with `args`; its result in *result. From the entry stop of t's own call (`from`,
 * `first`), that call is replaced; else t is at an exit stop and goes back to the instruction `at`.
 */
static int run_call(pid_t tid, const struct user_regs_struct *from, int first, unsigned long long at, long nr,
                    const unsigned long long args[6], long *result, int *status) {
  struct user_regs_struct r = *from;
  if (first) r.orig_rax = (unsigned long long)nr;
  else {
    r.rip = at;
    r.rax = (unsigned long long)nr;
    r.orig_rax = (unsigned long long)-1; /* not in a call: nothing for the kernel to restart */
  }
  r.rdi = args[0];
  r.rsi = args[1];
  r.rdx = args[2];
  r.r10 = args[3];
  r.r8 = args[4];
  r.r9 = args[5];
  *status = -1;
  if (ptrace(PTRACE_SETREGS_, tid, 0, &r) < 0) return -1;
  if (!first && resume_to(tid, PTRACE_SYSCALL_INFO_ENTRY, status) < 0) return -1;
  if (resume_to(tid, PTRACE_SYSCALL_INFO_EXIT, status) < 0) return -1;
  if (ptrace(PTRACE_GETREGS_, tid, 0, &r) < 0) return -1;
  *result = (long)r.rax;
  return 0;
}

int install_filter(pid_t tid, pid_t tgid, int at_exit, struct sock_fprog filter, int *status, char *why, size_t why_len) {
  struct user_regs_struct saved;
  uint64_t mask, blocked = ~(uint64_t)0;
  *status = -1;
  if (ptrace(PTRACE_GETREGS_, tid, 0, &saved) < 0 || ptrace(PTRACE_GETSIGMASK_, tid, (void *)sizeof mask, &mask) < 0)
    return INJECT_LEFT_STOP;
  /* The call's instruction: `syscall` (0f 05), made again with other registers, and at the end with its own. */
  unsigned long long at = saved.rip - 2;
  uint16_t insn = 0;
  if (read_mem(tid, at, &insn, sizeof insn) != 0 || insn != 0x050f) {
    snprintf(why, why_len, "it is not stopped after a syscall instruction");
    return INJECT_FAILED;
  }
  if (ptrace(PTRACE_SETSIGMASK_, tid, (void *)sizeof blocked, &blocked) < 0) return INJECT_LEFT_STOP;
  /* The program and its sock_fprog go in a page of the tracee's own (below its stack pointer may be unmapped). */
  struct sock_fprog placed = {filter.len, NULL};
  size_t bytes = sizeof placed + filter.len * sizeof(struct sock_filter);
  size_t size = (bytes + 4095) & ~(size_t)4095;
  long page = 0, result = -ENOMEM, unmapped = 0;
  const unsigned long long map[6] = {0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long long)-1, 0};
  if (run_call(tid, &saved, !at_exit, at, SYS_mmap, map, &page, status) < 0) goto left;
  if (page < 0 && page > -4096) {
    snprintf(why, why_len, "mmap in the app failed: %s", strerror((int)-page));
    goto restore;
  }
  placed.filter = (struct sock_filter *)(page + sizeof placed);
  if (write_mem(tid, (unsigned long)page, &placed, sizeof placed) != 0 ||
      write_mem(tid, (unsigned long)page + sizeof placed, filter.filter, filter.len * sizeof(struct sock_filter)) != 0) {
    snprintf(why, why_len, "writing the filter into the app failed: %s", strerror(errno));
  } else {
    const unsigned long long add[6] = {SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, (unsigned long long)page, 0, 0, 0};
    if (run_call(tid, &saved, 0, at, SYS_seccomp, add, &result, status) < 0) goto left;
    if (result == -EACCES) {
      /* Neither CAP_SYS_ADMIN (an app that dropped root) nor no_new_privs yet: as the tracer's own start does. */
      const unsigned long long nnp[6] = {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0};
      long ignored;
      if (run_call(tid, &saved, 0, at, SYS_prctl, nnp, &ignored, status) < 0 ||
          run_call(tid, &saved, 0, at, SYS_seccomp, add, &result, status) < 0)
        goto left;
    }
    if (result > 0) snprintf(why, why_len, "thread %ld of the app could not take the filter", result);
    else if (result < 0) snprintf(why, why_len, "seccomp in the app failed: %s", strerror((int)-result));
  }
  const unsigned long long unmap[6] = {(unsigned long long)page, size, 0, 0, 0, 0};
  if (run_call(tid, &saved, 0, at, SYS_munmap, unmap, &unmapped, status) < 0) goto left;
restore:
  /* At an entry: back to its own call's instruction, to make it from the start, through the filters as they now are. */
  if (!at_exit) {
    saved.rip = at;
    saved.rax = saved.orig_rax;
  }
  if (ptrace(PTRACE_SETREGS_, tid, 0, &saved) < 0 || ptrace(PTRACE_SETSIGMASK_, tid, (void *)sizeof mask, &mask) < 0)
    goto left;
  raise_held(tid, tgid);
  return result == 0 ? INJECTED : INJECT_FAILED;
left:
  forget_held(tid);
  return INJECT_LEFT_STOP;
}
#else
const int can_inject = 0;

int install_filter(pid_t tid, pid_t tgid, int at_exit, struct sock_fprog filter, int *status, char *why, size_t why_len) {
  (void)tid, (void)tgid, (void)at_exit, (void)filter, (void)resume_to, (void)raise_held, (void)forget_held;
  *status = -1;
  snprintf(why, why_len, "this architecture cannot");
  return INJECT_FAILED;
}
#endif
