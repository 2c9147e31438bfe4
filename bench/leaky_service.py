"""Benchmark app: the realistic service start with leaks to attribute: a log file, a SQLite
database and a metrics socket opened at import."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

import logging
import socket
import sqlite3

from celery import Celery
from flask import Flask
from prometheus_client import Counter

app = Flask(__name__)
tasks = Celery("service", broker="memory://")
REQUESTS = Counter("requests_total", "Requests served", ["route"])
log = logging.FileHandler("/tmp/prefork-check-bench.log")
db = sqlite3.connect("/tmp/prefork-check-bench.db")
metrics = socket.socket()
metrics.bind(("127.0.0.1", 0))
metrics.listen()

print("READY", flush=True)
