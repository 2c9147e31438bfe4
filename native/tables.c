/*
 * The kernel's own fd table, read while the process is held at a trapped call or event: what a
 * fork point's report is built from, so that fds no traced call made (io_uring, fanotify) are in it.
 */
#include "tables.h"
#include "memory.h"
#include "output.h"
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

int fd_tables;
int marker_end = -1;

/* The fd's flags from its fdinfo (`flags:` in octal, O_CLOEXEC included). */
static unsigned long fd_flags(int info_dir, const char *fd) {
  char text[512];
  int f = openat(info_dir, fd, O_RDONLY | O_CLOEXEC);
  if (f < 0) return 0;
  ssize_t n = read(f, text, sizeof text - 1);
  close(f);
  if (n <= 0) return 0;
  text[n] = 0;
  char *line = strstr(text, "flags:");
  return line ? strtoul(line + 6, NULL, 8) : 0;
}

int put_table(pid_t tid, pid_t holder) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", holder);
  DIR *dir = opendir(path);
  if (!dir) return 0; /* gone: its exit line follows */
  snprintf(path, sizeof path, "/proc/%d/fdinfo", holder);
  int info_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  putf("%d --- fds", tid);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char link[4096];
    ssize_t n = readlinkat(dirfd(dir), entry->d_name, link, sizeof link);
    if (n < 0) continue; /* closed since the listing */
    putf(" %s:%lo:", entry->d_name, info_dir < 0 ? 0 : fd_flags(info_dir, entry->d_name));
    /* A file's inode, from its stat as at its creation's line (lines.c): not for what has no path. */
    struct stat st;
    if (link[0] == '/' && fstatat(dirfd(dir), entry->d_name, &st, 0) == 0 && !S_ISCHR(st.st_mode) &&
        !S_ISBLK(st.st_mode))
      putf("%llu", (unsigned long long)st.st_ino);
    put(":\"");
    put_escaped((const unsigned char *)link, (size_t)n);
    put("\"");
  }
  if (info_dir >= 0) close(info_dir);
  closedir(dir);
  put(" ---\n");
  flush_soon(); /* with the line of the call it is read at, which follows at once */
  return 1;
}

/* Whether `len` bytes at `addr` hold `byte`; 1 also when they cannot be read. */
static int holds_byte(pid_t pid, unsigned long addr, size_t len, unsigned char byte) {
  unsigned char buf[4096];
  for (size_t done = 0; done < len;) {
    size_t chunk = len - done < sizeof buf ? len - done : sizeof buf;
    if (read_mem(pid, addr + done, buf, chunk) != 0) return 1;
    if (memchr(buf, byte, chunk)) return 1;
    done += chunk;
  }
  return 0;
}

int may_end_marker(struct task *t, long written) {
  if (marker_end < 0 || written <= 0) return 0;
  const char *name = t->call->name;
  unsigned char byte = (unsigned char)marker_end;
  if (strcmp(name, "write") == 0 || strcmp(name, "pwrite64") == 0)
    return holds_byte(t->tid, t->args[1], (size_t)written, byte);
  if (strcmp(name, "writev") == 0 || strcmp(name, "pwritev") == 0 || strcmp(name, "pwritev2") == 0) {
    struct iovec iov[64];
    size_t count = t->args[2] < 64 ? (size_t)t->args[2] : 64;
    if (t->args[2] > 64 || read_mem(t->tid, t->args[1], iov, count * sizeof *iov) != 0) return 1;
    size_t left = (size_t)written;
    for (size_t i = 0; i < count && left > 0; i++) {
      size_t len = iov[i].iov_len < left ? iov[i].iov_len : left;
      if (holds_byte(t->tid, (unsigned long)iov[i].iov_base, len, byte)) return 1;
      left -= len;
    }
    return 0;
  }
  return 1; /* sendfile, splice, tee, vmsplice, sendmsg ...: bytes not at hand */
}

int may_carry_marker(struct task *t) {
  const char *name = t->call->name;
  int counted = strcmp(name, "write") == 0 || strcmp(name, "pwrite64") == 0;
  return may_end_marker(t, counted ? (long)t->args[2] : LONG_MAX);
}
