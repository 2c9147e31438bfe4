/* The trace as it goes out: strace's lines, buffered until the tracer would wait. */
#ifndef PREFORK_TRACER_OUTPUT_H
#define PREFORK_TRACER_OUTPUT_H
#include "common.h"

/* Where the lines go: stderr, or -o's file. */
extern int out_fd;
void flush_out(void);
/*
 * Lines wait for the reader at most this long: a write per stop cost the app ~4 µs a line, and
 * prefork-check reads in turns anyway. A timer ends the tracer's wait for its next stop when the
 * app makes none (the marker's line must not wait for a call that never comes).
 */
#define FLUSH_DELAY_US 2000
void start_flush_timer(void);
/* Writes the lines out if they waited long enough, or the timer asked. */
void flush_when_due(void);
void put_bytes(const char *s, size_t n);
void put(const char *s);
void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bytes as strace's C strings carry them: printable ASCII as is, the rest escaped. */
void put_escaped(const unsigned char *s, size_t n);
void begin_capture(void);
char *take_capture(void);
size_t captured_length(void);
#endif
