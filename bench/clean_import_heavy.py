"""Benchmark app: a realistic import-heavy stdlib start (what a web service loads before it forks)."""
import bench_starts  # noqa: E402,F401  (counts starts when the benchmark asks: one per check)

import argparse, asyncio, csv, decimal, email.parser, http.client, http.server, json, logging.handlers  # noqa: F401
import multiprocessing, socketserver, sqlite3, ssl, urllib.request, uuid, xml.etree.ElementTree, zipfile  # noqa: F401
print("READY", flush=True)
