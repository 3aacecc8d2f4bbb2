#!/usr/bin/env python3
"""How long the `stats` views take on a large trace, after parsing it.

    python benchmarks/stats_bench.py                 # 1G trace of gen_trace.py, kernel 4.18-372
    python benchmarks/stats_bench.py --size 200M --kernel 6.6
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_trace import generate, parse_size  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G")
    ap.add_argument("--kernel", default="4.18-372")
    ap.add_argument("--dir", default="/tmp/reclaimctl-bench")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, f"vmscan-{args.kernel}-{args.size}-s1.trace")
    size = parse_size(args.size)
    if not os.path.exists(path) or os.path.getsize(path) < size * 0.99:
        generate(path, size, kernel=args.kernel, seed=1)

    import reclaimctl
    from reclaimctl.analysis.compare import compare
    from reclaimctl.analysis.episodes import by_task, latency_summary, reclaim_episodes
    from reclaimctl.analysis.kswapd import kswapd_per_node, writeback
    from reclaimctl.analysis.percpu import per_cpu_histogram, per_cpu_intervals, reclaim_ends
    from reclaimctl.analysis.priority import per_priority
    from reclaimctl.analysis.slab import shrinkers

    reclaimctl.read(os.path.join(HERE, "..", "traces", "kernel-372.log"))
    t = time.perf_counter()
    tables = reclaimctl.read(path)
    rows = sum(x.num_rows for x in tables.values())
    print(f"parse {os.path.basename(path)}: {time.perf_counter() - t:.2f} s, {rows} rows")

    def timed(label, fn):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = fn()
        print(f"  {label:<28}{time.perf_counter() - t0:8.2f} s")
        return out

    ep = timed("episodes", lambda: reclaim_episodes(tables))
    timed("episode latency + per task", lambda: (latency_summary(ep.table), by_task(ep.table, tables)))
    ends = timed("per-cpu: reclaim ends", lambda: reclaim_ends(tables))
    timed("per-cpu: intervals", lambda: per_cpu_intervals(ends))
    timed("per-cpu: histograms", lambda: per_cpu_histogram(ends))
    timed("per-priority", lambda: per_priority(tables, ep))
    timed("slab: shrinkers", lambda: shrinkers(tables))
    timed("kswapd", lambda: kswapd_per_node(tables))
    timed("writeback", lambda: writeback(tables))
    timed("compare (trace with itself)", lambda: compare(tables, tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
