/* What a tracee's fd is (stat of /proc/PID/fd/N), looked at once per stop. */
#ifndef PREFORK_TRACER_FD_STAT_H
#define PREFORK_TRACER_FD_STAT_H
#include "common.h"

/* stat(2) of /proc/PID/fd/FD; 0 or -1. Asked again in the same stop, the same answer, not a second call. */
int fd_stat(pid_t pid, long fd, struct stat *st);
/* A new stop: what was looked at before may have changed since. */
void fd_stats_expire(void);
#endif
