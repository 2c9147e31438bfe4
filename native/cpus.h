/*
 * Which CPUs the tracer, the app and prefork-check run on (what `taskset` does for strace,
 * without starting it). The tracer and the app take turns at every stop: on one CPU a turn is a
 * context switch, across two a wake-up of the other CPU, which on virtual machines costs far more.
 */
#ifndef PREFORK_TRACER_CPUS_H
#define PREFORK_TRACER_CPUS_H
#include "common.h"

/*
 * The tracer, and the app it starts, run on `cpu` only; with `move_off` > 0 every thread of that
 * process (prefork-check, which gives its own pid) moves to the CPUs the tracer was allowed
 * besides `cpu`. Best effort, as a refused taskset would leave things: a CPU that cannot be
 * chosen, or a process that cannot be moved, is left as it was.
 */
void run_on_cpu(int cpu, pid_t move_off);
#endif
