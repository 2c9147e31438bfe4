"""Benchmark app: a stdlib import-heavy start plus 3,000 opens and closes, leaving nothing open."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

import json, email.parser, http.client, logging.handlers, sqlite3, xml.etree.ElementTree, decimal, argparse, csv, asyncio  # noqa: F401
import os
import tempfile

with tempfile.TemporaryDirectory() as scratch:
    path = os.path.join(scratch, "f")
    for i in range(3000):
        with open(path, "w") as f:
            f.write("x")
print("READY", flush=True)
