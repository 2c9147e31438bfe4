/* Attribution records, said as strace's pwrite64 lines, and the buffers threads hand them over in. */
#include "records.h"
#include <sys/uio.h>
#include "memory.h"
#include "output.h"

size_t record_limit = 4096;

/* The most a buffer may hold: a larger one is not taken, and its thread goes on with a pwrite per record. */
#define BUFFER_MAX (1u << 20)

void put_record(pid_t pid, const unsigned char *bytes, size_t len, unsigned long long offset) {
  size_t shown = len < record_limit ? len : record_limit;
  putf("%d pwrite64(-1, \"", pid);
  if (bytes) put_escaped(bytes, shown);
  putf("\"%s, %zu, %lld) = -1 EBADF (Bad file descriptor)\n", len > shown ? "..." : "", len, (long long)offset);
}

/* What a read ahead of the count takes: most stops find a record or two, well under this. */
#define READ_AHEAD 4096

void read_buffer(struct task *t) {
  if (!t->buffer) return;
  static unsigned char data[BUFFER_MAX];
  /* The count, and in the same read what may follow what was read last: one read a stop, not two. */
  uint32_t used, from = t->buffer_read;
  size_t ahead = t->buffer_size - from < READ_AHEAD ? t->buffer_size - from : READ_AHEAD;
  struct iovec local[2] = {{&used, sizeof used}, {data, ahead}};
  struct iovec remote[2] = {{(void *)t->buffer, sizeof used}, {(void *)(t->buffer + 4 + from), ahead}};
  ssize_t got = process_vm_readv(t->tid, local, 2, remote, 2, 0);
  /* Unreadable, or not what the bootstrap writes: no longer a buffer of records (the image changed). */
  if (got < (ssize_t)sizeof used || used > t->buffer_size) {
    t->buffer = 0;
    return;
  }
  got -= (ssize_t)sizeof used;
  if (used < from) { from = 0; got = 0; } /* emptied since (a hand-over): all of it is new */
  if (used == from) { t->buffer_read = used; return; }
  size_t n = used - from;
  if ((size_t)got < n && read_mem(t->tid, t->buffer + 4 + from + (size_t)got, data + got, n - (size_t)got) != 0) {
    t->buffer = 0;
    return;
  }
  for (size_t at = 0; at + 4 <= n;) {
    uint32_t len;
    memcpy(&len, data + at, sizeof len);
    if (len > n - at - 4) break; /* cut short: never the bootstrap's own writing */
    put_record(t->tid, data + at + 4, len, 0);
    at += 4 + len;
  }
  t->buffer_read = used;
}

void take_buffer(struct task *t, unsigned long addr, size_t size) {
  if (size < 4 || size - 4 > BUFFER_MAX) return;
  if (t->buffer != addr) {
    t->buffer = addr;
    t->buffer_size = size - 4;
    t->buffer_read = 0;
  }
  read_buffer(t);
  /* Emptied here, while the thread is held: the bootstrap sees the hand-over taken by its count at 0. */
  uint32_t empty = 0;
  if (t->buffer && write_mem(t->tid, t->buffer, &empty, sizeof empty) == 0) t->buffer_read = 0;
  else t->buffer = 0;
}

void put_record_at(pid_t pid, unsigned long addr, size_t len, unsigned long long offset) {
  static unsigned char bytes[RECORD_MAX];
  size_t shown = len < record_limit ? len : record_limit;
  put_record(pid, read_mem(pid, addr, bytes, shown) == 0 ? bytes : NULL, len, offset);
}
