/* The trace as it goes out: strace's lines, buffered until the tracer would wait. */
#include "output.h"
#include <signal.h>
#include <stdarg.h>
#include <sys/time.h>

int out_fd = 2;
static char out_buf[1 << 16];
static size_t out_len;

static long long last_flush_ns;
static volatile sig_atomic_t flush_asked;

static void on_flush_timer(int sig) {
  (void)sig;
  flush_asked = 1;
}

void start_flush_timer(void) {
  /* No SA_RESTART: the tracer's wait for its next stop ends, and the lines go out. */
  struct sigaction action = {0};
  action.sa_handler = on_flush_timer;
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, NULL);
  struct itimerval every = {{0, FLUSH_TIMER_US}, {0, FLUSH_TIMER_US}};
  setitimer(ITIMER_REAL, &every, NULL);
}

void flush_soon(void) {
  flush_asked = 1;
}

void flush_when_due(void) {
  if (out_len == 0) return;
  if (flush_asked || now_ns() - last_flush_ns >= FLUSH_DELAY_US * 1000LL) flush_out();
}

void flush_out(void) {
  flush_asked = 0;
  last_flush_ns = now_ns();
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

