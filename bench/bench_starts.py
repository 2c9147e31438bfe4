"""Counts the app's starts: the benchmark checks that each check started the app once."""
import os

if os.environ.get("BENCH_STARTS"):
    with open(os.environ["BENCH_STARTS"], "a") as starts:
        starts.write("start\n")
