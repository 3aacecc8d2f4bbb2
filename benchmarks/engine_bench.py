"""Reclaim engine throughput: workload events per second, simulated seconds per wall second.

    python benchmarks/engine_bench.py                 # all cases, warm numba cache
    python benchmarks/engine_bench.py --compile       # also time the first compilation (fresh cache dir)
    python benchmarks/engine_bench.py --events 2000000 --cases steady,reference

Cases (one node of --node-pages pages, 4 KiB, kernel-372 unless --profile):
* steady     new page-cache pages at a rate kswapd keeps up with (no direct reclaim);
* direct     the same pages all at once: every allocation below min goes to direct reclaim;
* reference  a Zipf(0.9) read stream over 10x the node's memory (the input a cache simulator such
             as libCacheSim takes), run through the full two-list model;
* libcachesim  the same stream through libCacheSim's LRU (``pip install -e '.[bench]'``), side by
             side: a case that is not installed is reported, not skipped silently.
Also prints the model's bytes per simulated page.  Figures go in the closing notes, not in tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def _run(case: str, events: int, node_pages: int, profile: str) -> dict[str, float]:
    from reclaimctl.engine import profiles
    from reclaimctl.engine.api import Simulation, workload
    from reclaimctl.engine.machine import MachineSpec, TaskSpec
    from reclaimctl.engine.state import OP_FILE_READ

    n = events
    if case == "libcachesim":
        return _run_libcachesim(events, node_pages)
    if events > 1000:  # load the compiled engine first: the warm start is measured on its own
        _run(case, 1000, 4096, profile)
    if case == "reference":
        obj = _zipf_stream(n, node_pages)
        ts = np.arange(n, dtype=np.int64) * 1_000
        nfile = node_pages * 10
    else:
        obj = np.arange(n)
        nfile = n
        ts = np.arange(n, dtype=np.int64) * (2_000 if case == "steady" else 0)
    sim = Simulation(MachineSpec(node_pages=node_pages, cpus_per_node=1), profiles.get(profile),
                     tasks=[TaskSpec(1000, "bench")], file_pages=nfile, stap=False, ev_capacity=1 << 20)
    wl = workload(ts, np.zeros(n), np.zeros(n), np.full(n, OP_FILE_READ), obj, np.ones(n))
    t0 = time.perf_counter()
    res = sim.run(wl)
    wall = time.perf_counter() - t0
    vm = sim.vmstat()
    return {"wall_s": wall, "events_per_s": n / wall, "sim_s_per_wall_s": res.simulated_ns / 1e9 / wall,
            "trace_rows": len(sim.trace_rows()), "allocstall": vm["allocstall"], "pgsteal_kswapd": vm["pgsteal_kswapd"],
            "hit_ratio": 1 - (vm["pgalloc"] / n)}


def _zipf_stream(n: int, node_pages: int) -> np.ndarray:
    """Zipf(0.9) page ids over 10x the node's memory, the same for every case and tool."""
    rng = np.random.default_rng(1)
    footprint = node_pages * 10
    p = np.arange(1, footprint + 1, dtype=np.float64) ** -0.9
    p /= p.sum()
    return rng.choice(footprint, size=n, p=p)


def _run_libcachesim(events: int, node_pages: int) -> dict[str, float]:
    """libCacheSim's LRU through its Python binding (C++ trace loop) on the reference stream,
    written as an oracleGeneral binary trace; cache size = the node's memory."""
    import libcachesim as lcs  # pip install -e '.[bench]'

    obj = _zipf_stream(events, node_pages)
    rec = np.zeros(events, dtype=[("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec["t"], rec["id"], rec["size"], rec["next"] = np.arange(events) // 1000, obj + 1, 4096, -1
    with tempfile.NamedTemporaryFile(suffix=".oracleGeneral") as f:
        rec.tofile(f.name)
        reader = lcs.TraceReader(f.name, lcs.TraceType.ORACLE_GENERAL_TRACE)
        cache = lcs.LRU(cache_size=node_pages * 4096)
        t0 = time.perf_counter()
        miss_ratio, _ = cache.process_trace(reader)
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "events_per_s": events / wall, "hit_ratio": 1 - miss_ratio}


PER_PAGE = ("pg_flags", "pg_prev", "pg_next", "pg_lv", "pg_zone", "pg_lru", "pg_map", "pg_key",
            "io_page", "io_time", "flushq", "dbg_seen")


def _bytes_per_page() -> float:
    """Bytes of state that scale with the number of simulated pages (writeback rings included)."""
    from reclaimctl.engine import profiles
    from reclaimctl.engine.machine import MachineSpec, build_state

    pages = 1 << 16
    st, _ = build_state(MachineSpec(node_pages=pages), profiles.get("kernel-372"), [], [], 0, ev_capacity=16)
    return sum(getattr(st, name).nbytes for name in PER_PAGE) / pages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--node-pages", type=int, default=1 << 20)
    ap.add_argument("--profile", default="kernel-372")
    ap.add_argument("--cases", default="steady,direct,reference,libcachesim")
    ap.add_argument("--compile", action="store_true", help="time the first compilation in a fresh cache")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        r = _run(args.one, args.events, args.node_pages, args.profile)
        print(" ".join(f"{k}={v}" for k, v in r.items()))
        return
    if args.compile:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--one", "steady", "--events", "1000", "--node-pages", "4096"],
                           env=env, check=True, capture_output=True)
            print(f"first compilation + tiny run: {time.perf_counter() - t0:.1f} s (fresh NUMBA_CACHE_DIR)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--one", "steady", "--events", "1000", "--node-pages", "4096"],
                   check=True, capture_output=True)
    print(f"warm start (import, load cache, tiny run): {time.perf_counter() - t0:.1f} s")
    print(f"model memory: {_bytes_per_page():.1f} bytes per simulated page")
    for case in args.cases.split(","):
        if case == "libcachesim" and importlib.util.find_spec("libcachesim") is None:
            print("libcachesim: not installed (pip install -e '.[bench]')")
            continue
        out = subprocess.run([sys.executable, __file__, "--one", case, "--events", str(args.events),
                              "--node-pages", str(args.node_pages), "--profile", args.profile],
                             check=True, capture_output=True, text=True).stdout.strip()
        kv = dict(x.split("=") for x in out.split())
        if case == "libcachesim":
            print(f"{case:9s} {args.events:>9d} requests, LRU of {args.node_pages} pages: "
                  f"{float(kv['events_per_s']) / 1e6:.2f} M requests/s, hit ratio {float(kv['hit_ratio']):.3f}")
            continue
        print(f"{case:9s} {args.events:>9d} events on {args.node_pages} pages: "
              f"{float(kv['events_per_s']) / 1e6:.2f} M events/s, "
              f"{float(kv['sim_s_per_wall_s']):.2f} simulated s per wall s, "
              f"allocstall {kv['allocstall']}, kswapd steals {kv['pgsteal_kswapd']}, "
              f"hit ratio {float(kv['hit_ratio']):.3f}, trace rows {kv['trace_rows']}")


if __name__ == "__main__":
    main()
