/*
 * Attribution records: the bootstrap's notes of which line is about to make an fd, each said as
 * the failing pwrite64(-1, ...) line strace would show for it.
 *
 * With this tracer the Python bootstrap does not make that pwrite per record (a stop each): it
 * appends records to a buffer of its thread's own, which the tracer reads whenever the thread
 * stops at a traced call. Records always come before the call they announce, in the same thread,
 * so reading them at that call's entry keeps the trace's order. The buffer: a u32 of bytes used,
 * then records, each a u32 length and its bytes. The thread hands it over (registers it, or has
 * it read and emptied when full) with pwrite64(-1, buffer, size, BUFFER_HANDOVER).
 */
#ifndef PREFORK_TRACER_RECORDS_H
#define PREFORK_TRACER_RECORDS_H
#include "tasks.h"

/* Records are cut at -s bytes, as strace cuts strings; never above RECORD_MAX. */
#define RECORD_MAX 65536
extern size_t record_limit;

/* pwrite64's offset in a hand-over: "pfrb". Any other offset is a record of its own. */
#define BUFFER_HANDOVER 0x70667262ULL

/* One record's line: `PID pwrite64(-1, "bytes", LEN, OFFSET) = -1 EBADF (Bad file descriptor)`. */
void put_record(pid_t pid, const unsigned char *bytes, size_t len, unsigned long long offset);
/* A record the thread wrote itself, with pwrite64(-1, addr, len, offset): its bytes read from the thread. */
void put_record_at(pid_t pid, unsigned long addr, size_t len, unsigned long long offset);
/* A hand-over at its entry: the buffer is the thread's from now on, read, and emptied. */
void take_buffer(struct task *t, unsigned long addr, size_t size);
/* The records the thread's buffer gained since it was last read, each as its line. */
void read_buffer(struct task *t);
#endif
