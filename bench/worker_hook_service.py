"""Benchmark app: the realistic service start with a log opened at import, then one worker fork
whose hook closes the log before it waits to serve (as gunicorn's post_fork would): the check
follows the worker to that wait, and passes. The worker waits 0.2 s, then exits; the parent waits."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

import os
import select
import tempfile

import clean_service  # noqa: F401  (the realistic start: Flask, Celery, prometheus_client)

log = tempfile.TemporaryFile()

pid = os.fork()
if pid == 0:
    log.close()
    select.select([], [], [], 0.2)
    os._exit(0)
os.waitpid(pid, 0)
