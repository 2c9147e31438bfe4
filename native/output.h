/* The trace as it goes out: strace's lines, buffered until the tracer would wait. */
#ifndef PREFORK_TRACER_OUTPUT_H
#define PREFORK_TRACER_OUTPUT_H
#include "common.h"

/* Where the lines go: stderr, or -o's file. */
extern int out_fd;
void flush_out(void);
void put_bytes(const char *s, size_t n);
void put(const char *s);
void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bytes as strace's C strings carry them: printable ASCII as is, the rest escaped. */
void put_escaped(const unsigned char *s, size_t n);
void begin_capture(void);
char *take_capture(void);
size_t captured_length(void);
#endif
