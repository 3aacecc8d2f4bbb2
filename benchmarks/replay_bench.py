"""Replay throughput: workload events/s and simulated seconds per wall second, per scenario and profile;
wall time per simulated memcg reclaim call of the incident; time from command to first output.

    python benchmarks/replay_bench.py                     # warm numba cache (run a replay once first)
    python benchmarks/replay_bench.py --scenarios incident,v3-swappiness --profiles kernel-372

Cases:
* every scenario given (default: the incident, the dd of V3, the streaming reader of V1), under
  each profile given: build time, run time, workload events/s, simulated s per wall s, trace rows;
* the incident with --calls memcg reclaim calls on kernel-372 (each ~0.8 s simulated, the heavy
  500-memcg x 8-node walk with ~600 shrinker bits): wall ms per simulated call;
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
    first, total = first_output()
    print(f"`reclaimctl replay --no-store` (warm cache): first output after {first:.2f} s, done after {total:.2f} s")


if __name__ == "__main__":
    main()
