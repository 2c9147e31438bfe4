/* CPU affinity of the tracer, the app and prefork-check: see cpus.h. */
#include "cpus.h"
#include <dirent.h>
#include <sched.h>

void run_on_cpu(int cpu, pid_t move_off) {
  cpu_set_t allowed, one;
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof allowed, &allowed) != 0 || !CPU_ISSET(cpu, &allowed)) return;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return;
  CPU_CLR(cpu, &allowed);
  if (move_off <= 0 || CPU_COUNT(&allowed) == 0) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", move_off);
  DIR *dir = opendir(path);
  if (!dir) return;
  /* Each thread (V8 compiles and collects garbage on threads of its own), as taskset -a does. */
  for (struct dirent *e; (e = readdir(dir));)
    if (e->d_name[0] != '.') sched_setaffinity(atoi(e->d_name), sizeof allowed, &allowed);
  closedir(dir);
}
