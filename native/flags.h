/* Flag words as strace writes them, in its order: the report keeps them as written. */
#ifndef PREFORK_TRACER_FLAGS_H
#define PREFORK_TRACER_FLAGS_H
#include "common.h"

struct flag { unsigned long bit; const char *name; };
/* The names of `value`'s bits in `flags`' order, what is left in hex, or `zero` for none. */
void put_flags(unsigned long value, const struct flag *flags, const char *zero);
void put_open_flags(unsigned long value);
/* CLOEXEC and NONBLOCK under a call's own prefix (EFD_, SOCK_, MFD_, ...); other bits in hex. */
void put_prefixed(unsigned long value, const char *prefix, unsigned long cloexec, unsigned long nonblock);
extern const struct flag CLONE_FLAGS[];
#endif
