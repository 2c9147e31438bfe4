/* The tracee's memory, read (and, for a records buffer, written) without stopping it further. */
#ifndef PREFORK_TRACER_MEMORY_H
#define PREFORK_TRACER_MEMORY_H
#include "common.h"

int read_mem(pid_t pid, unsigned long addr, void *buf, size_t len);
int write_mem(pid_t pid, unsigned long addr, const void *buf, size_t len);
/* A NUL-terminated string of at most max-1 bytes; returns its length or -1. */
ssize_t read_cstr(pid_t pid, unsigned long addr, char *buf, size_t max);
#endif
