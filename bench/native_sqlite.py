"""Benchmark app: a small service start for --native-stacks: sqlite3 opens its database from C."""
import bench_starts  # noqa: F401  (counts starts when the benchmark asks: one per check)

import os
import sqlite3
import tempfile

db = sqlite3.connect(os.path.join(tempfile.gettempdir(), "prefork-check-bench.db"))
db.execute("create table if not exists t (x)")

if __name__ == "__main__":
    print("READY", flush=True)
