/* The trace as it goes out: strace's lines, buffered until the tracer would wait. */
#ifndef PREFORK_TRACER_OUTPUT_H
#define PREFORK_TRACER_OUTPUT_H
#include "common.h"

/* Where the lines go: stderr, or -o's file. */
extern int out_fd;
void flush_out(void);
/*
 * Lines go out when the tracer is about to wait and the oldest has waited this long: a write per
 * stop cost the app ~4 µs a line, and prefork-check reads in turns anyway.
 */
#define FLUSH_DELAY_US 2000
/*
 * Lines a fork point may be decided on (a table and its call's line, a process's end) go out at
 * the tracer's next wait, however young. The rest, when the app makes no further stop, wait for a
 * timer that ends the tracer's wait this often: not every 2 ms, since each time it wakes the
 * tracer, which then takes the app's CPU from it (two context switches: ~20 ms of the realistic start).
 */
#define FLUSH_TIMER_US 20000
void start_flush_timer(void);
/* The lines written so far go out at the tracer's next wait. */
void flush_soon(void);
/* Writes the lines out if they waited long enough, or were asked to go (flush_soon, the timer). */
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
