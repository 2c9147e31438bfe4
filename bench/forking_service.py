"""Benchmark app: the realistic service start, then one worker fork, as a pre-fork server
does (the fork point of --fork-at-first-fork). The worker exits at once; the parent waits."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

import os

import clean_service  # noqa: F401  (the realistic start: Flask, Celery, prometheus_client)

pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
