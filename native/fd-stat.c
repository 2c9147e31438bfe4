/*
 * A new fd's exit stop asks twice what it is: its line (a device's numbers) and the watch (is it on
 * the app's stdout or stderr?). Each stat of /proc/PID/fd/N is a path walk through /proc, a few µs
 * on a VM: the answer is kept until the stop ends (the tracee is held meanwhile).
 */
#include "fd-stat.h"

static struct {
  int valid, result;
  pid_t pid;
  long fd;
  struct stat st;
} last;

int fd_stat(pid_t pid, long fd, struct stat *st) {
  if (!last.valid || last.pid != pid || last.fd != fd) {
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/fd/%ld", pid, fd);
    last.result = stat(link, &last.st);
    last.pid = pid;
    last.fd = fd;
    last.valid = 1;
  }
  *st = last.st;
  return last.result;
}

void fd_stats_expire(void) { last.valid = 0; }
