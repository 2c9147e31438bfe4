/* Sockets and their addresses, named as strace names them. */
#include "sockets.h"
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "flags.h"
#include "memory.h"
#include "output.h"

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
int put_inet_socket(pid_t tgid, long fd, unsigned long ino) {
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
int put_unix_socket(unsigned long ino) {
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
  ssize_t n;
  /* The flush timer (output.h) may end a wait here: asked again, never taken for no answer. */
  while ((n = send(diag, &request, sizeof request, 0)) < 0 && errno == EINTR) continue;
  if (n != (ssize_t)sizeof request) return 0;
  static char reply[8192];
  while ((n = recv(diag, reply, sizeof reply, 0)) < 0 && errno == EINTR) continue;
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

void put_family(long family) {
  switch (family) {
    case AF_UNIX: put("AF_UNIX"); break;
    case AF_INET: put("AF_INET"); break;
    case AF_INET6: put("AF_INET6"); break;
    case AF_NETLINK: put("AF_NETLINK"); break;
    case AF_PACKET: put("AF_PACKET"); break;
    default: putf("%ld", family);
  }
}

void put_socket_type(unsigned long type) {
  static const char *types[] = {"0", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"};
  unsigned long base = type & 0xf;
  if (base < 6) put(types[base]);
  else putf("%lu", base);
  struct flag flags[] = {{SOCK_CLOEXEC, "SOCK_CLOEXEC"}, {SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {0, 0}};
  if (type & ~0xful) { put("|"); put_flags(type & ~0xful, flags, ""); }
}

/* `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}` and the like. */
void put_sockaddr(pid_t pid, unsigned long addr, long len) {
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

