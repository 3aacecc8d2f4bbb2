"""Review of the reports layer (issue 3): edge cases of every view against hand-computed answers.

Each test states its hand computation.  Tests marked ``xfail(strict=True)`` document a real bug of
the current code (the reason says input, expected and got); the others are regular tests.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import run_cli

from reclaimctl.analysis.compare import compare, mann_whitney
from reclaimctl.analysis.episodes import by_task, kswapd_episodes, latency_summary, reclaim_episodes
from reclaimctl.analysis.kswapd import kswapd_per_node, wakeups_by_order
from reclaimctl.analysis.percpu import BUCKETS, per_cpu_histogram, per_cpu_intervals, reclaim_ends
from reclaimctl.analysis.priority import per_priority
from reclaimctl.analysis.slab import shrinkers

HDR = "{comm}-{pid} [{cpu:03d}] .... {ts}: "


def line(comm: str, pid: int, cpu: int, ts: str, payload: str) -> str:
    return HDR.format(comm=comm, pid=pid, cpu=cpu, ts=ts) + payload + "\n"


DBEGIN = "mm_vmscan_direct_reclaim_begin: order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"
MBEGIN = "mm_vmscan_memcg_reclaim_begin: order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"
SBEGIN = "mm_vmscan_memcg_softlimit_reclaim_begin: order=0 gfp_flags=GFP_KERNEL"


def dend(n: int) -> str:
    return f"mm_vmscan_direct_reclaim_end: nr_reclaimed={n}"


def mend(n: int) -> str:
    return f"mm_vmscan_memcg_reclaim_end: nr_reclaimed={n}"


def inactive(scanned: int, reclaimed: int, prio: int, lru: str = "FILE") -> str:
    return (f"mm_vmscan_lru_shrink_inactive: nid=0 nr_scanned={scanned} nr_reclaimed={reclaimed} nr_dirty=0 "
            f"nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 nr_activate_file=0 nr_ref_keep=0 "
            f"nr_unmap_fail=0 priority={prio} flags=RECLAIM_WB_{lru}|RECLAIM_WB_ASYNC")


def active(taken: int, prio: int, lru: str = "FILE") -> str:
    return (f"mm_vmscan_lru_shrink_active: nid=0 nr_taken={taken} nr_active=0 nr_deactivated={taken} "
            f"nr_referenced=0 priority={prio} flags=RECLAIM_WB_{lru}|RECLAIM_WB_ASYNC")


def writepage(pfn: int, sync: bool = False) -> str:
    return (f"mm_vmscan_writepage: page=00000000000000{pfn:02x} pfn={pfn} "
            f"flags=RECLAIM_WB_FILE|RECLAIM_WB_{'SYNC' if sync else 'ASYNC'}")


SLAB_START = ("mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 000000003e89d20a: nid: 0 objects to shrink {o} "
              "gfp_flags GFP_KERNEL cache items {c} delta 12 total_scan 34 priority 12")
SLAB_END = ("mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 000000003e89d20a: nid: 0 unused scan count {u} "
            "new scan count {n} total_scan -118 last shrinker return val {f}")

VIEWS = ("per-cpu", "per-priority", "episodes", "latency", "slab", "kswapd", "writeback", "summary")


def write(tmp_path, text: str, name: str = "t.log") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def json_views(stdout: str) -> dict[str, list[dict]]:
    return {v["view"]: v["rows"] for v in map(json.loads, stdout.splitlines())}


# ---------------------------------------------------------------- episodes


def test_two_consecutive_episodes_of_one_task(parse_text):
    # b@1.000 .. e@1.004 (4 ms, 2 shrink_inactive of 10+20 scanned, prio 12 then 11),
    # a shrink at 1.006 between the episodes belongs to none,
    # b@1.010 .. e@1.030 (20 ms, one shrink_inactive of 5 scanned at prio 10).
    t = parse_text("".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.001000", inactive(10, 1, 12)),
        line("a", 5, 0, "1.002000", inactive(20, 2, 11)),
        line("a", 5, 0, "1.004000", dend(3)),
        line("a", 5, 0, "1.006000", inactive(99, 9, 3)),
        line("a", 5, 0, "1.010000", DBEGIN),
        line("a", 5, 0, "1.020000", inactive(5, 5, 10)),
        line("a", 5, 0, "1.030000", dend(5)),
    ]))
    ep = reclaim_episodes(t)
    e = ep.table
    assert e["duration_ns"].tolist() == [4_000_000, 20_000_000]
    assert e["nr_reclaimed"].tolist() == [3, 5]
    assert e["shrink_inactive"].tolist() == [2, 1]
    assert e["nr_scanned"].tolist() == [30, 5]
    assert e["lowest_priority"].tolist() == [11, 10]
    assert len(ep.unmatched_begin) == 0 and len(ep.unmatched_end) == 0
    row = by_task(e, t).iloc[0]
    # 2 episodes, 24 ms total, avg 12, max 20, scanned 35, reclaimed 8
    assert (row["episodes"], row["nr_scanned"], row["nr_reclaimed"]) == (2, 35, 8)
    assert (row["total_ms"], row["avg_ms"], row["max_ms"]) == pytest.approx((24.0, 12.0, 20.0))


def test_pid_reused_by_another_comm_gives_two_tasks(parse_text):
    # pid 5 is "a" (1 ms episode, 1 page) then, after exit, "b" (3 ms episode, 2 pages)
    t = parse_text("".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.001000", dend(1)),
        line("b", 5, 1, "2.000000", DBEGIN),
        line("b", 5, 1, "2.003000", dend(2)),
    ]))
    bt = by_task(reclaim_episodes(t).table, t).set_index("comm")
    assert sorted(bt.index) == ["a", "b"]
    assert bt.loc["a", "total_ms"] == pytest.approx(1.0) and bt.loc["b", "total_ms"] == pytest.approx(3.0)
    assert (bt.loc["a", "nr_reclaimed"], bt.loc["b", "nr_reclaimed"]) == (1, 2)


def test_pid_reuse_writepage_is_not_counted_twice(parse_text):
    # "a" (pid 5) writes 1 page async inside its episode; "b" (pid 5 reused) writes nothing.
    t = parse_text("".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.000100", writepage(10)),
        line("a", 5, 0, "1.001000", dend(1)),
        line("b", 5, 1, "2.000000", DBEGIN),
        line("b", 5, 1, "2.003000", dend(2)),
    ]))
    bt = by_task(reclaim_episodes(t).table, t).set_index("comm")
    assert bt.loc["a", "writepage_async"] == 1
    assert bt.loc["b", "writepage_async"] == 0


def test_sequential_episodes_of_different_kinds_for_one_task(parse_text):
    # direct 1.000..1.002 (2 ms, 4 pages), then memcg 1.005..1.010 (5 ms, 7 pages), same pid
    t = parse_text("".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.002000", dend(4)),
        line("a", 5, 0, "1.005000", MBEGIN),
        line("a", 5, 0, "1.010000", mend(7)),
    ]))
    ep = reclaim_episodes(t)
    assert ep.table[["kind", "duration_ns", "nr_reclaimed"]].values.tolist() == [
        ["direct", 2_000_000, 4], ["memcg", 5_000_000, 7]]
    assert len(ep.unmatched_begin) == len(ep.unmatched_end) == 0
    lat = latency_summary(ep.table).set_index("kind")
    assert lat.loc["direct", "max_ms"] == pytest.approx(2.0) and lat.loc["memcg", "1-5ms"] == 0
    assert lat.loc["memcg", "5-10ms"] == 1  # 5 ms is in [5, 10)


def test_softlimit_nested_in_direct_reclaim(parse_text):
    # direct 1.000..1.004 (4 ms, 10 pages) containing softlimit 1.001..1.002 (1 ms, 3 pages)
    t = parse_text("".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.001000", SBEGIN),
        line("a", 5, 0, "1.002000", "mm_vmscan_memcg_softlimit_reclaim_end: nr_reclaimed=3"),
        line("a", 5, 0, "1.004000", dend(10)),
    ]))
    ep = reclaim_episodes(t)
    got = sorted(ep.table[["kind", "duration_ns", "nr_reclaimed"]].values.tolist())
    assert got == [["direct", 4_000_000, 10], ["softlimit", 1_000_000, 3]]
    assert len(ep.unmatched_begin) == len(ep.unmatched_end) == 0


def test_trace_with_only_end_events(parse_text, tmp_path):
    # two ends (pids 1 and 2) with no begins: no episode, both reported unmatched, per-cpu counts them
    text = line("a", 1, 0, "3.000000", mend(5)) + line("b", 2, 1, "3.500000", dend(40))
    ep = reclaim_episodes(parse_text(text))
    assert len(ep.table) == 0 and len(ep.unmatched_begin) == 0
    assert sorted(ep.unmatched_end["pid"].tolist()) == [1, 2]
    proc = run_cli("stats", "episodes", write(tmp_path, text), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no reclaim episodes" in proc.stderr and "0 begin lines without an end, 2 end lines" in proc.stderr
    h = per_cpu_histogram(reclaim_ends(parse_text(text))).set_index("cpu")
    # calls 2, mean (5+40)/2 = 22.5, one LOW (5 < 32)
    assert (h.loc["all", "calls"], h.loc["all", "low"], h.loc["all", "mean"]) == (2, 1, 22.5)


BEGIN_ONLY = "".join([
    # a trace that stops inside an episode: a begin and shrink calls, no end
    line("a", 5, 0, "1.000000", DBEGIN),
    line("a", 5, 0, "1.001000", inactive(32, 8, 12)),
])


def test_begin_without_end_is_unmatched(parse_text):
    ep = reclaim_episodes(parse_text(BEGIN_ONLY))
    assert len(ep.table) == 0
    assert ep.unmatched_begin["pid"].tolist() == [5] and len(ep.unmatched_end) == 0


@pytest.mark.parametrize("args", [("stats", "episodes"), ("stats", "summary"), ("stats", "per-priority"),
                                  ("compare",)])
def test_begin_without_end_in_the_cli(tmp_path, args):
    path = write(tmp_path, BEGIN_ONLY)
    srcs = (path, path) if args == ("compare",) else (path,)
    proc = run_cli(*args, *srcs, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    assert proc.returncode == 0


def test_begin_end_without_shrink_events(parse_text, tmp_path):
    # one memcg episode 2.000..2.250 (250 ms, 12 pages) and nothing inside
    text = line("a", 5, 3, "2.000000", MBEGIN) + line("a", 5, 3, "2.250000", mend(12))
    e = reclaim_episodes(parse_text(text)).table.iloc[0]
    assert (e["shrink_inactive"], e["shrink_active"], e["nr_scanned"], e["duration_ns"]) == (0, 0, 0, 250_000_000)
    assert e["lowest_priority"] is pd_na()
    lat = latency_summary(reclaim_episodes(parse_text(text)).table).iloc[0]
    assert lat["100-500ms"] == 1 and lat["p99_ms"] == pytest.approx(250.0)
    proc = run_cli("stats", "per-priority", write(tmp_path, text))
    assert proc.returncode == 0 and "no shrink_inactive/shrink_active events" in proc.stdout
    proc = run_cli("stats", write(tmp_path, text), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json_views(proc.stdout)["episode latency"][0]["max_ms"] == pytest.approx(250.0)


def pd_na():
    import pandas as pd

    return pd.NA


def test_comm_names_with_slash_space_digits_and_idle(parse_text):
    # three tasks, episodes of 1, 2 and 3 ms; <idle>-0 wakes kswapd (a GFP_ATOMIC allocation in an irq)
    t = parse_text("".join([
        line("kworker/u16:3", 100, 0, "1.000000", DBEGIN),
        line("Web Content", 200, 1, "1.000000", DBEGIN),
        line("java-12", 300, 2, "1.000000", DBEGIN),
        line("kworker/u16:3", 100, 0, "1.001000", dend(1)),
        line("Web Content", 200, 1, "1.002000", dend(2)),
        line("java-12", 300, 2, "1.003000", dend(3)),
        line("<idle>", 0, 3, "1.004000", "mm_vmscan_wakeup_kswapd: nid=0 zid=2 order=2 gfp_flags=GFP_ATOMIC"),
    ]))
    bt = by_task(reclaim_episodes(t).table, t)
    # sorted by total_ms descending
    assert bt[["comm", "pid", "total_ms", "nr_reclaimed"]].values.tolist() == [
        ["java-12", 300, 3.0, 3], ["Web Content", 200, 2.0, 2], ["kworker/u16:3", 100, 1.0, 1]]
    assert wakeups_by_order(t).values.tolist() == [[0, 2, 1]]


# ---------------------------------------------------------------- per priority


def test_priority_zero_is_reported(parse_text, tmp_path):
    # episode 1.000..1.010: prio 12 at 1.002, prio 0 at 1.004 and the end at 1.010
    # time: 12 -> 2 ms (begin..first call); 0 -> 2 ms (gap before it) + 6 ms (gap after the last) = 8 ms
    text = "".join([
        line("a", 5, 0, "1.000000", DBEGIN),
        line("a", 5, 0, "1.002000", inactive(10, 1, 12)),
        line("a", 5, 0, "1.004000", inactive(40, 0, 0)),
        line("a", 5, 0, "1.010000", dend(1)),
    ])
    t = parse_text(text)
    pp = per_priority(t).set_index("priority")
    assert list(pp.index) == [12, 0]
    assert pp.loc[0, "time_ms"] == pytest.approx(8.0) and pp.loc[12, "time_ms"] == pytest.approx(2.0)
    assert pp.loc[0, "nr_scanned"] == 40 and pp.loc[0, "efficiency"] == 0.0
    assert reclaim_episodes(t).table.iloc[0]["lowest_priority"] == 0
    proc = run_cli("stats", write(tmp_path, text), "--format", "json")
    pr = json_views(proc.stdout)["priorities (see stats per-priority)"][0]
    assert pr["lowest_priority"] == 0 and pr["time_at_lowest_share"] == pytest.approx(0.8)


ANON_FILE = "".join([
    # episode 1.000..1.010; file prio 12 at 1.002; anon prio 11 at 1.004; file prio 11 at 1.006
    line("a", 5, 0, "1.000000", DBEGIN),
    line("a", 5, 0, "1.002000", inactive(10, 5, 12)),
    line("a", 5, 0, "1.004000", inactive(20, 4, 11, "ANON")),
    line("a", 5, 0, "1.006000", inactive(30, 3, 11)),
    line("a", 5, 0, "1.006500", active(16, 11, "ANON")),
    line("a", 5, 0, "1.010000", dend(12)),
])


def test_anon_and_file_at_the_same_priority_counts(parse_text):
    pp = per_priority(parse_text(ANON_FILE)).set_index(["priority", "lru"])
    assert list(pp.index) == [(12, "file"), (11, "anon"), (11, "file")]
    assert pp.loc[(11, "anon"), ["inactive_calls", "nr_scanned", "nr_reclaimed"]].tolist() == [1, 20, 4]
    assert pp.loc[(11, "file"), ["inactive_calls", "nr_scanned", "nr_reclaimed"]].tolist() == [1, 30, 3]
    assert pp.loc[(11, "anon"), "efficiency"] == pytest.approx(0.2)
    assert (pp.loc[(11, "anon"), "active_calls"], pp.loc[(11, "anon"), "active_nr_taken"]) == (1, 16)
    assert pp.loc[(11, "file"), "active_calls"] == 0


def test_anon_and_file_at_the_same_priority_time(parse_text, tmp_path):
    # time: prio 12 -> 2 ms (begin..1.002); prio 11 -> 2 + 2 + 0.5 + 3.5 = 8 ms; total 10 ms = the episode
    pp = per_priority(parse_text(ANON_FILE))
    assert pp["time_ms"].sum() == pytest.approx(10.0)
    assert pp.groupby("priority")["time_ms"].sum().to_dict() == pytest.approx({11: 8.0, 12: 2.0})
    proc = run_cli("stats", write(tmp_path, ANON_FILE), "--format", "json")
    pr = json_views(proc.stdout)["priorities (see stats per-priority)"][0]
    assert pr["time_at_lowest_share"] == pytest.approx(0.8)


def test_only_shrink_active_events(parse_text):
    # no shrink_inactive: one (12, file) row with 1 active call, efficiency undefined (NaN)
    pp = per_priority(parse_text(line("a", 5, 0, "1.000000", active(32, 12))))
    r = pp.iloc[0]
    assert (r["priority"], r["lru"], r["inactive_calls"], r["active_calls"], r["active_nr_deactivated"]) == (
        12, "file", 0, 1, 32)
    assert r["efficiency"] != r["efficiency"] and r["time_ms"] == 0.0


def test_summary_of_shrink_events_only(tmp_path):
    proc = run_cli("stats", write(tmp_path, line("a", 5, 0, "1.000000", inactive(10, 5, 12))), "--format", "json")
    views = json_views(proc.stdout)
    assert views["priorities (see stats per-priority)"][0]["scanned"] == 10
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- kswapd


def test_kswapd_wake_without_sleep(parse_text):
    # node 0: wake 2.000, sleep 2.010 (10 ms), wake 2.020 and no sleep; node 1: wake 2.005 only
    t = parse_text("".join([
        line("kswapd0", 90, 0, "2.000000", "mm_vmscan_kswapd_wake: nid=0 zid=2 order=0"),
        line("kswapd1", 91, 1, "2.005000", "mm_vmscan_kswapd_wake: nid=1 zid=2 order=0"),
        line("kswapd0", 90, 0, "2.010000", "mm_vmscan_kswapd_sleep: nid=0"),
        line("kswapd0", 90, 0, "2.020000", "mm_vmscan_kswapd_wake: nid=0 zid=2 order=0"),
    ]))
    n = kswapd_per_node(t).set_index("nid")
    assert n.loc[0, ["wakes", "sleeps"]].tolist() == [2, 1] and bool(n.loc[0, "still_awake"])
    assert n.loc[0, "awake_ms"] == pytest.approx(10.0)
    assert n.loc[1, ["wakes", "sleeps", "awake_ms"]].tolist() == [1, 0, 0.0] and bool(n.loc[1, "still_awake"])
    assert kswapd_episodes(t)["duration_ns"].tolist() == [10_000_000]


# ---------------------------------------------------------------- per CPU

PER_CPU = "".join([
    # cpu 0: 4.999999 (nr 1), 5.000000 (nr 40), 5.400000 (nr 31), 5.500000 (nr 32), 6.000000 (nr 0)
    line("p", 10, 0, "4.999999", mend(1)),
    line("p", 10, 0, "5.000000", mend(40)),
    line("p", 10, 0, "5.400000", dend(31)),
    line("p", 10, 0, "5.500000", mend(32)),
    line("p", 10, 0, "6.000000", mend(0)),
    # cpu 2: two calls; cpu 7: one call
    line("q", 11, 2, "5.100000", mend(3)),
    line("q", 11, 2, "5.200000", mend(7)),
    line("r", 12, 7, "5.300000", dend(64)),
])


def test_per_cpu_whole_second_boundaries(parse_text):
    iv = per_cpu_intervals(reclaim_ends(parse_text(PER_CPU))).set_index(["cpu", "interval_s"])
    # cpu 0: [4,5): {1}; [5,6): {40, 31, 32} -> mean 103/3, LOW 1; [6,7): {0}
    assert iv.loc[(0, 4.0), "calls"] == 1 and iv.loc[(0, 6.0), "0"] == 1
    r = iv.loc[(0, 5.0)]
    assert (r["calls"], r["low"], r["all"], r["31"], r[">=32"]) == (3, 1, 3, 1, 2)
    assert r["mean"] == pytest.approx(103 / 3)


def test_per_cpu_half_second_interval_cli(tmp_path):
    proc = run_cli("stats", "per-cpu", write(tmp_path, PER_CPU), "--interval", "0.5", "--cpu", "0",
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json_views(proc.stdout)["reclaim calls per CPU and interval"]
    # cpu 0 by 0.5 s: 4.5 -> {1}; 5.0 -> {40, 31}; 5.5 -> {32}; 6.0 -> {0}
    assert [(r["interval_s"], r["calls"]) for r in rows] == [(4.5, 1), (5.0, 2), (5.5, 1), (6.0, 1)]
    assert all(set(BUCKETS) <= set(r) for r in rows)  # every bucket in machine output


def test_per_cpu_top_and_kind_cli(tmp_path):
    path = write(tmp_path, PER_CPU)
    proc = run_cli("stats", "per-cpu", path, "--top", "2", "--format", "json")
    whole = json_views(proc.stdout)["whole trace per CPU"]
    # calls: cpu 0 -> 5, cpu 2 -> 2, cpu 7 -> 1; top 2 = cpus 0, 2; all = 7 calls, LOW = 1,31,0,3,7 = 5
    # the whole-trace view labels its rows: CPU numbers as text and "all" (one column type)
    assert [(r["cpu"], r["calls"]) for r in whole] == [("0", 5), ("2", 2), ("all", 7)]
    assert whole[-1]["low"] == 5
    proc = run_cli("stats", "per-cpu", path, "--kind", "direct", "--format", "json")
    whole = json_views(proc.stdout)["whole trace per CPU"]
    # direct: 5.4 on cpu 0 (31), 5.3 on cpu 7 (64): mean 47.5
    assert [(r["cpu"], r["calls"]) for r in whole] == [("0", 1), ("7", 1), ("all", 2)]
    assert whole[-1]["mean"] == pytest.approx(47.5)


def test_per_cpu_window_cli(tmp_path):
    # window [5.05, 5.35]: 5.1 (cpu 2, nr 3), 5.2 (cpu 2, nr 7), 5.3 (cpu 7, nr 64)
    proc = run_cli("stats", "per-cpu", write(tmp_path, PER_CPU), "--window", "5.05", "5.35", "--format", "json")
    hist = json_views(proc.stdout)["histogram of nr_reclaimed, all CPUs"]
    counts = {r["nr_reclaimed"]: r["calls"] for r in hist}
    assert counts["3"] == 1 and counts["7"] == 1 and counts[">=32"] == 1 and sum(counts.values()) == 3


def test_per_cpu_window_bound_is_inclusive(tmp_path):
    proc = run_cli("stats", "per-cpu", write(tmp_path, line("p", 10, 0, "1.001000", mend(3))),
                   "--window", "1.0", "1.001", "--format", "json")
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    assert json_views(proc.stdout)["whole trace per CPU"][-1]["calls"] == 1


def test_per_cpu_interval_is_not_truncated(tmp_path):
    proc = run_cli("stats", "per-cpu", write(tmp_path, line("p", 10, 0, "15.700000", mend(3))),
                   "--interval", "0.0157", "--format", "json")
    rows = json_views(proc.stdout)["reclaim calls per CPU and interval"]
    assert rows[0]["interval_s"] == pytest.approx(15.7, abs=1e-9)


def test_per_cpu_parquet(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    proc = run_cli("stats", "per-cpu", "kernel-372", "--format", "parquet", "-o", str(out))
    assert "Traceback" not in proc.stderr and proc.returncode == 0, proc.stderr[-300:]
    t = pq.read_table(out / "whole_trace_per_cpu.parquet").to_pandas()
    assert t["calls"].tolist() == [1, 1]  # cpu 10, and all


def test_per_cpu_csv_has_every_bucket(tmp_path):
    proc = run_cli("stats", "per-cpu", write(tmp_path, PER_CPU), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[1]
    assert header == ",".join(["cpu", "interval_s", "calls", "mean", "low", "all", *BUCKETS])


# ---------------------------------------------------------------- slab


def test_shrinker_start_is_paired_once(parse_text):
    t = parse_text("".join([
        line("k", 8, 0, "4.000000", SLAB_START.format(o=100, c=1000)),
        line("k", 8, 0, "4.000500", SLAB_END.format(u=100, n=40, f=60)),
        line("k", 8, 0, "4.003000", SLAB_END.format(u=40, n=50, f=10)),
    ]))
    assert shrinkers(t).iloc[0]["time_ms"] == pytest.approx(0.5)


def test_shrinker_only_ends(parse_text):
    # an end with no start: freed 10, deferred growth 50-40 = 10, no time, no call
    r = shrinkers(parse_text(line("k", 8, 0, "4.003000", SLAB_END.format(u=40, n=50, f=10)))).iloc[0]
    assert (r["calls"], r["freed"], r["deferred_growth"], r["time_ms"]) == (0, 10, 10, 0.0)


# ---------------------------------------------------------------- output formats and empty traces


@pytest.mark.parametrize("view", VIEWS)
def test_json_of_every_view_is_valid(view):
    proc = run_cli("stats", view, "kernel-372", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    for ln in proc.stdout.splitlines():
        v = json.loads(ln)
        assert set(v) == {"view", "rows"}
        keys = [tuple(r) for r in v["rows"]]
        assert len(set(keys)) <= 1  # every row of a view has the same keys, in the same order


@pytest.mark.parametrize("view", [v for v in VIEWS if v != "writeback"])
def test_empty_trace_gives_a_message(tmp_path, view):
    path = write(tmp_path, "# tracer: nop\n")
    proc = run_cli("stats", view, path, "--format", "json")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() and len(proc.stderr.strip().splitlines()) == 1
    assert "no " in proc.stderr


def test_empty_trace_writeback_gives_a_message(tmp_path):
    proc = run_cli("stats", "writeback", write(tmp_path, "# tracer: nop\n"))
    assert proc.returncode == 0
    assert "no " in (proc.stdout + proc.stderr).lower()


# ---------------------------------------------------------------- compare


def test_compare_a_trace_with_itself():
    proc = run_cli("compare", "kernel-372", "kernel-372", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    for r in rows:
        assert r["A"] == r["B"] and r["delta"] == 0
        assert r["ratio"] == 1 or (r["ratio"] is None and r["A"] in (0, None))
    assert "too few episodes to tell (n=1 vs n=1" in proc.stderr


def test_compare_identical_samples_of_five_episodes(parse_text):
    # 5 episodes of 1..5 ms on each side: identical, U = 12.5 = na*nb/2, p = 1
    text = "".join(line("a", 5, 0, f"{10 + i}.000000", DBEGIN) + line("a", 5, 0, f"{10 + i}.00{i}000", dend(1))
                   for i in range(1, 6))
    t = parse_text(text)
    df, test = compare(t, t)
    assert (test.n_a, test.n_b, test.u) == (5, 5, 12.5) and test.p_value == pytest.approx(1.0)
    assert "no significant difference" in test.verdict
    assert df.set_index("metric").loc["episodes.direct.p50_ms", "A"] == pytest.approx(3.0)
    assert mann_whitney(df["A"].to_numpy()[:2], df["B"].to_numpy()[:2]).p_value is None


def test_compare_drop_to_zero_ranks_above_unchanged(parse_text):
    ep = (line("a", 5, 0, "1.000000", DBEGIN) + line("a", 5, 0, "1.002000", inactive(32, 16, 12))
          + line("a", 5, 0, "1.004000", dend(16)))
    a = parse_text(ep + line("z", 9, 1, "1.005000", dend(4)))  # plus one unmatched end
    b = parse_text(ep)
    df, _ = compare(a, b)
    order = df["metric"].tolist()
    m = df.set_index("metric")
    assert (m.loc["episodes.unmatched", "A"], m.loc["episodes.unmatched", "B"]) == (1.0, 0.0)
    assert order.index("episodes.unmatched") < order.index("episodes.direct.max_ms")


# ---------------------------------------------------------------- sources and the store


def test_store_with_deleted_latest_result(tmp_path):
    assert run_cli("parse", "kernel-147").returncode == 0
    out = tmp_path / "out"
    assert run_cli("parse", "kernel-372", "-o", str(out)).returncode == 0
    shutil.rmtree(out)
    proc = run_cli("stats", "episodes", "--format", "json")
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:
        assert "kernel-147" in proc.stderr
    else:
        assert str(out) in proc.stderr


def test_store_deleted_result_is_a_one_line_error(tmp_path):
    out = tmp_path / "out"
    assert run_cli("parse", "kernel-372", "-o", str(out)).returncode == 0
    shutil.rmtree(out)
    proc = run_cli("stats", "episodes")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ambiguous_source_for_every_view(tmp_path):
    (tmp_path / "kernel-147").write_text("")
    for view in ("per-cpu", "episodes"):
        proc = run_cli("stats", view, "kernel-147", cwd=tmp_path)
        assert proc.returncode != 0 and "ambiguous" in proc.stderr
        assert "file:kernel-147" in proc.stderr and "sample:kernel-147" in proc.stderr
    proc = run_cli("compare", "kernel-147", "sample:kernel-147", cwd=tmp_path)
    assert proc.returncode != 0 and "ambiguous" in proc.stderr
