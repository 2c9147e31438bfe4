/* The trace as it goes out: strace's lines, buffered until the tracer would wait. */
#include "output.h"
#include <stdarg.h>

int out_fd = 2;
static char out_buf[1 << 16];
static size_t out_len;

void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(out_fd, out_buf + done, out_len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* the reader is gone: the app's tree is killed by our reaper */
    done += (size_t)n;
  }
  out_len = 0;
}

void put_bytes(const char *s, size_t n) {
  if (out_len + n > sizeof out_buf) flush_out();
  if (n > sizeof out_buf) n = sizeof out_buf;
  memcpy(out_buf + out_len, s, n);
  out_len += n;
}

void put(const char *s) { put_bytes(s, strlen(s)); }

void putf(const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) put_bytes(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Bytes as strace's C strings carry them: printable ASCII as is, the rest escaped. */
void put_escaped(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') putf("\\%c", c);
    else if (c == '\n') put("\\n");
    else if (c == '\t') put("\\t");
    else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>') putf("\\x%02x", c);
    else put_bytes((const char *)&c, 1);
  }
}

/* Begins a text made in the (emptied) output buffer instead of going out: see take_capture. */
void begin_capture(void) { flush_out(); }

/* The text put since begin_capture, taken back out of the buffer. */
char *take_capture(void) {
  char *text = strndup(out_buf, out_len);
  out_len = 0;
  return text;
}

size_t captured_length(void) { return out_len; }

