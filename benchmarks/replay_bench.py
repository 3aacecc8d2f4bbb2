"""Replay throughput: workload events/s and simulated seconds per wall second, per scenario and profile;
wall time per simulated memcg reclaim call of the incident; time from command to first output.

    python benchmarks/replay_bench.py                     # warm numba cache (run a replay once first)
    python benchmarks/replay_bench.py --scenarios incident,v3-swappiness --profiles kernel-372

Cases:
* every scenario given (default: the incident, the dd of V3, the streaming reader of V1), under
  each profile given: build time, run time, workload events/s, simulated s per wall s, trace rows;
* the incident with --calls memcg reclaim calls on kernel-372 (each ~0.8 s simulated, the heavy
  500-memcg x 8-node walk with ~600 shrinker bits): wall ms per simulated call;
* a synthetic trace of --alloc-size bytes of kmem/filemap/writeback events (page-cache reads,
  anonymous faults and frees, dirtying) on 16 CPUs: parse, turn into a workload, replay (1 node of
  4 GiB, kernel-372): seconds and events/s of each step;
* `reclaimctl replay --no-store` as a subprocess: seconds to the first line of output and in all.
Figures go in the closing notes, not in tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def run_scenario(name: str, profile: str | None, sets: list[str]) -> dict[str, float]:
    from reclaimctl.workload.scenario import load

    t0 = time.perf_counter()
    scen, profile_sets = load(name, sets)
    sim, wl = scen.build(scen.resolve_profile(profile, profile_sets))
    t1 = time.perf_counter()
    res = sim.run(wl, settle_ns=scen.settle)
    t2 = time.perf_counter()
    tables = sim.tables()
    t3 = time.perf_counter()
    calls = tables["mm_vmscan_memcg_reclaim_begin"].num_rows
    return {"build_s": t1 - t0, "run_s": t2 - t1, "tables_s": t3 - t2, "events": res.events,
            "events_per_s": res.events / (t2 - t1), "sim_s": res.simulated_ns / 1e9,
            "sim_s_per_s": res.simulated_ns / 1e9 / (t2 - t1), "rows": sum(t.num_rows for t in tables.values()),
            "memcg_calls": calls}


def write_alloc_trace(path: str, size: int, seed: int = 1) -> int:
    """A 4.18-style ftrace text of user allocations: 60% page-cache reads (alloc + add), 30% anon
    faults, 5% anon frees, 5% dirtying; returns the number of lines."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = 0
    written = 0
    t = 100.0
    next_pfn = 0x100000
    anon_live: list[tuple[str, int, int]] = []
    comms = [(f"app{k}", 1000 + k) for k in range(64)]
    with open(path, "w") as fh:
        fh.write("# tracer: nop\n#\n")
        while written < size:
            kinds = rng.random(10_000)
            who = rng.integers(0, len(comms), 10_000)
            ino = rng.integers(1, 200, 10_000)
            ofs = rng.integers(0, 1 << 16, 10_000)
            buf = []
            for k in range(10_000):
                comm, pid = comms[who[k]]
                cpu = pid % 16
                t += 0.000002
                head = f"{comm:>16s}-{pid:<7d} [{cpu:03d}] .... {t:12.6f}: "
                r = kinds[k]
                if r < 0.6 or (r >= 0.9 and not anon_live):
                    pfn = next_pfn
                    next_pfn += 1
                    page = 0xFFFFEA0000000000 + pfn * 64
                    buf.append(f"{head}mm_page_alloc: page=0x{page:x} pfn={pfn} order=0 migratetype=1 "
                               "gfp_flags=GFP_HIGHUSER_MOVABLE\n")
                    buf.append(f"{head}mm_filemap_add_to_page_cache: dev 253:0 ino {ino[k]:x} page=0x{page:x} "
                               f"pfn={pfn} ofs={ofs[k] * 4096}\n")
                elif r < 0.9:
                    pfn = next_pfn
                    next_pfn += 1
                    anon_live.append((comm, pid, pfn))
                    buf.append(f"{head}mm_page_alloc: page=0x{0xFFFFEA0000000000 + pfn * 64:x} pfn={pfn} order=0 "
                               "migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n")
                elif r < 0.95:
                    c, p, pfn = anon_live.pop(int(rng.integers(0, len(anon_live))))
                    h = f"{c:>16s}-{p:<7d} [{p % 16:03d}] .... {t:12.6f}: "
                    buf.append(f"{h}mm_page_free: page=0x{0xFFFFEA0000000000 + pfn * 64:x} pfn={pfn} order=0\n")
                else:
                    buf.append(f"{head}writeback_dirty_page: bdi 253:0: ino={ino[k]} index={ofs[k]}\n")
            text = "".join(buf)
            fh.write(text)
            written += len(text)
            lines += len(buf)
    return lines


def alloc_stream_case(size: int) -> None:
    import os
    import tempfile

    import reclaimctl
    from reclaimctl.cli.replay_cmd import plan, simulate

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "alloc.trace")
        t0 = time.perf_counter()
        lines = write_alloc_trace(path, size)
        t1 = time.perf_counter()
        print(f"alloc trace: {os.path.getsize(path) / 2**20:.0f} MiB, {lines:,} lines written in {t1 - t0:.1f} s")
        t1 = time.perf_counter()
        tables = reclaimctl.read(path)
        t2 = time.perf_counter()
        from reclaimctl.workload.alloc_stream import trace_stream

        stream = trace_stream(tables)
        t3 = time.perf_counter()
        del tables, stream
        p = plan(path, "kernel-372", None, (), None)  # parses again, as the command does
        sim, wall = simulate(p)
        t4 = time.perf_counter()
        n = sim.result.events
        print(f"  parse {t2 - t1:.1f} s ({lines / (t2 - t1):,.0f} lines/s); workload from the tables {t3 - t2:.1f} s; "
              f"replay {wall:.1f} s: {n:,} workload events, {n / wall:,.0f} events/s, "
              f"{sim.result.simulated_ns / 1e9 / wall:.2f} simulated s per s; command total {t4 - t3:.1f} s")


def first_output() -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "reclaimctl", "replay", "--no-store"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - t0
    proc.communicate()
    return first, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="incident,v3-swappiness,v1-kswapd-band")
    ap.add_argument("--profiles", default="kernel-147,kernel-372,kernel-372-fixed")
    ap.add_argument("--calls", type=int, default=10, help="memcg reclaim calls in the per-call case")
    ap.add_argument("--alloc-size", default="256M", help="size of the synthetic allocation trace (K/M/G)")
    args = ap.parse_args()
    run_scenario("incident", None, ["workload.0.trigger_faults=1"])  # imports, cache load
    print(f"{'scenario':18s} {'profile':17s} {'build s':>8s} {'run s':>7s} {'events':>9s} {'events/s':>11s} "
          f"{'sim s':>8s} {'sim s/s':>8s} {'rows':>9s}")
    for name in args.scenarios.split(","):
        for profile in args.profiles.split(","):
            r = run_scenario(name, profile, [])
            print(f"{name:18s} {profile:17s} {r['build_s']:8.2f} {r['run_s']:7.2f} {r['events']:9,d} "
                  f"{r['events_per_s']:11,.0f} {r['sim_s']:8.2f} {r['sim_s_per_s']:8.2f} {r['rows']:9,d}")
    # the incident's reclaim calls one after another: each demand lands after the previous call
    r = run_scenario("incident", "kernel-372", [f"workload.0.trigger_faults={args.calls * 40}",
                                                "workload.0.trigger_gap=1ms"])
    calls = r["memcg_calls"]
    print(f"incident on kernel-372: {calls} memcg reclaim calls, {r['sim_s']:.2f} s simulated in "
          f"{r['run_s']:.2f} s wall: {1000 * r['run_s'] / max(calls, 1):.1f} ms wall per call "
          f"({r['sim_s_per_s']:.1f} simulated s per wall s)")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    size = args.alloc_size
    alloc_stream_case(int(float(size[:-1]) * units[size[-1]]) if size[-1] in units else int(size))
    first, total = first_output()
    print(f"`reclaimctl replay --no-store` (warm cache): first output after {first:.2f} s, done after {total:.2f} s")


if __name__ == "__main__":
    main()
