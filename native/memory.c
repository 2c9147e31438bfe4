/* The tracee's memory, read (and, for a records buffer, written) without stopping it further. */
#include "memory.h"
#include <sys/uio.h>

int read_mem(pid_t pid, unsigned long addr, void *buf, size_t len) {
  struct iovec local = {buf, len}, remote = {(void *)addr, len};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int write_mem(pid_t pid, unsigned long addr, const void *buf, size_t len) {
  struct iovec local = {(void *)buf, len}, remote = {(void *)addr, len};
  return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* A NUL-terminated string of at most max-1 bytes; returns its length or -1. */
ssize_t read_cstr(pid_t pid, unsigned long addr, char *buf, size_t max) {
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

