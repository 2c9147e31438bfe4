"""Benchmark app: a realistic service start, clean. A Flask app with Celery tasks and Prometheus
metrics (Debian's packages), imported as a pre-fork server would, then the marker."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

from celery import Celery
from flask import Flask
from prometheus_client import Counter, Histogram

app = Flask(__name__)
tasks = Celery("service", broker="memory://")
REQUESTS = Counter("requests_total", "Requests served", ["route"])
LATENCY = Histogram("request_seconds", "Request latency")


@app.route("/")
def index():
    REQUESTS.labels("/").inc()
    return "ok"


@tasks.task
def refresh():
    return 1


if __name__ == "__main__":
    print("READY", flush=True)
