/* Sockets and their addresses, named as strace names them. */
#ifndef PREFORK_TRACER_SOCKETS_H
#define PREFORK_TRACER_SOCKETS_H
#include "common.h"

/* An inet or netlink socket of `tgid`'s, as -yy names it; 0 when it cannot be named so. */
int put_inet_socket(pid_t tgid, long fd, unsigned long ino);
/* A unix socket by its inode, from sock_diag; 0 when the kernel does not say. */
int put_unix_socket(unsigned long ino);
void put_family(long family);
void put_socket_type(unsigned long type);
/* `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}` and the like. */
void put_sockaddr(pid_t pid, unsigned long addr, long len);
#endif
