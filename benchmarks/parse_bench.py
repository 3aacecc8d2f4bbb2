#!/usr/bin/env python3
"""Parse throughput and peak memory: file -> typed Arrow tables.

Generates deterministic traces with gen_trace.py (cached under --dir), then parses each in a fresh
child process (so peak RSS is the parser's own) with 1 and 2 worker threads, and prints MB/s,
lines/s, peak RSS, the size of the resulting tables and the RSS budget of the issue
(2 x tables + 256 MB).  Numba's compiled code is cached on disk; the first run in a new checkout
compiles first (reported separately as "cold start").

    python benchmarks/parse_bench.py                  # 100M and 1G, kernel 4.18-372
    python benchmarks/parse_bench.py --sizes 100M --kernels 4.18-372,6.6 --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_trace import generate, parse_size  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
import reclaimctl
reclaimctl.read(sys.argv[3])  # load the compiled parser (numba's disk cache) before timing
t1 = time.perf_counter()
tables = reclaimctl.read(sys.argv[1], workers=int(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({
    "load_s": t1 - t0,
    "parse_s": t2 - t1,
    "lines": tables.meta.lines["total"],
    "rows": sum(t.num_rows for t in tables.values()),
    "table_bytes": sum(t.nbytes for t in tables.values()),
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "malformed": tables.meta.lines["malformed"],
}))
"""


SAMPLE = os.path.join(HERE, "..", "traces", "kernel-372.log")


def run_child(path: str, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, path, str(workers), SAMPLE], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100M,1G")
    ap.add_argument("--kernels", default="4.18-372")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--dir", default="/tmp/reclaimctl-bench")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    t = time.perf_counter()
    warm = run_child(SAMPLE, 1)
    print(f"first run in this checkout (import, compile or load the numba cache): {time.perf_counter() - t:.1f} s; "
          f"a later process needs {warm['load_s']:.2f} s to import and load the cache")
    print(f"{'input':<28}{'workers':>8}{'MB/s':>9}{'Mlines/s':>10}{'peak RSS MB':>13}{'tables MB':>11}{'RSS budget MB':>15}")
    for kernel in args.kernels.split(","):
        for size_text in args.sizes.split(","):
            size = parse_size(size_text)
            path = os.path.join(args.dir, f"vmscan-{kernel}-{size_text}-s{args.seed}.trace")
            if not os.path.exists(path) or os.path.getsize(path) < size * 0.99:
                generate(path, size, kernel=kernel, seed=args.seed)
            nbytes = os.path.getsize(path)
            subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache, as in the issue
            for w in (int(x) for x in args.workers.split(",")):
                r = run_child(path, w)
                mb_s = nbytes / r["parse_s"] / 1e6
                budget = 2 * r["table_bytes"] / 1e6 + 256
                print(f"{os.path.basename(path):<28}{w:>8}{mb_s:>9.0f}{r['lines'] / r['parse_s'] / 1e6:>10.2f}"
                      f"{r['maxrss_kb'] / 1024:>13.0f}{r['table_bytes'] / 1e6:>11.0f}{budget:>15.0f}")
                if r["malformed"]:
                    print(f"  warning: {r['malformed']} malformed lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
