/* Flag words as strace writes them, in its order: the report keeps them as written. */
#include "flags.h"
#include "output.h"


void put_flags(unsigned long value, const struct flag *flags, const char *zero) {
  int any = 0;
  for (const struct flag *f = flags; f->name; f++) {
    if (f->bit && (value & f->bit) == f->bit) {
      putf("%s%s", any ? "|" : "", f->name);
      value &= ~f->bit;
      any = 1;
    }
  }
  if (value) putf("%s%#lx", any ? "|" : "", value);
  else if (!any) put(zero);
}

/* The kernel's O_LARGEFILE (glibc's is 0 on 64-bit), which strace names all the same. */
#if defined(__x86_64__)
#define LARGEFILE_BIT 0100000
#else
#define LARGEFILE_BIT 0400000
#endif
/* strace's order (the report keeps the words as written); a whole flag before its parts:
 * O_SYNC holds O_DSYNC, O_TMPFILE holds O_DIRECTORY. */
static const struct flag OPEN_FLAGS[] = {
  {O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"}, {O_TRUNC, "O_TRUNC"},
  {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"},
  {O_DIRECT, "O_DIRECT"}, {LARGEFILE_BIT, "O_LARGEFILE"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
  {O_CLOEXEC, "O_CLOEXEC"}, {O_ASYNC, "FASYNC"}, {O_PATH, "O_PATH"}, {O_TMPFILE, "O_TMPFILE"},
  {O_DIRECTORY, "O_DIRECTORY"}, {0, 0}};

void put_open_flags(unsigned long value) {
  static const char *access[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  put(access[value & O_ACCMODE]);
  value &= ~(unsigned long)O_ACCMODE;
  if (value) { put("|"); put_flags(value, OPEN_FLAGS, ""); }
}

/* CLOEXEC and NONBLOCK under a call's own prefix (EFD_, SOCK_, MFD_, ...); other bits in hex. */
void put_prefixed(unsigned long value, const char *prefix, unsigned long cloexec, unsigned long nonblock) {
  char c[40], nb[40];
  snprintf(c, sizeof c, "%sCLOEXEC", prefix);
  snprintf(nb, sizeof nb, "%sNONBLOCK", prefix);
  struct flag flags[] = {{cloexec, c}, {nonblock, nb}, {0, 0}};
  put_flags(value, flags, "0");
}

const struct flag CLONE_FLAGS[] = {
  {0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
  {0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
  {0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"}, {0x80000, "CLONE_SETTLS"},
  {0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"}, {0x400000, "CLONE_DETACHED"},
  {0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
  {0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
  {0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000UL, "CLONE_IO"}, {0, 0}};

