"""The first reports of issue 3 against hand-computed answers: episodes, per-CPU histograms and the
systemtap shrink_slab share, on the samples of the notes and on small hand-written traces."""

from __future__ import annotations

import json

import pytest
from conftest import LOG_147, LOG_372, STAP_147, STAP_372, run_cli

import reclaimctl
from reclaimctl.analysis.episodes import latency_summary, reclaim_episodes
from reclaimctl.analysis.percpu import BUCKETS, per_cpu_histogram, per_cpu_intervals, reclaim_ends
from reclaimctl.analysis.slab import stap_episodes, stap_slab_per_cpu

# ---------------------------------------------------------------- the samples of the notes


def test_372_episode():
    ep = reclaim_episodes(reclaimctl.read(str(LOG_372))).table
    assert len(ep) == 1
    e = ep.iloc[0]
    assert (e.kind, e.comm, e.pid, e.cpu) == ("memcg", "bash", 16737, 10)
    assert e.duration_ns == 426415669056000 - 426414625682000  # 1.043374 s
    assert e.nr_reclaimed == 33
    assert e.lowest_priority == 8
    # 17 isolate/shrink_inactive pairs; their nr_scanned by hand: 1+1+2+1+5+1+2+1+1+10+1+2+1+4+1+3+3
    assert (e.shrink_inactive, e.shrink_active, e.nr_scanned, e.nr_reclaimed_lru) == (17, 0, 40, 33)


def test_147_episode():
    ep = reclaim_episodes(reclaimctl.read(str(LOG_147))).table
    e = ep.iloc[0]
    assert e.duration_ns == 519278616689000 - 519278538285000  # 78.404 ms
    assert (e.nr_reclaimed, e.lowest_priority, e.shrink_inactive, e.shrink_active) == (32, 8, 28, 9)


def test_372_is_13x_slower_than_147_for_the_same_pages():
    a = reclaim_episodes(reclaimctl.read(str(LOG_147))).table.iloc[0]
    b = reclaim_episodes(reclaimctl.read(str(LOG_372))).table.iloc[0]
    assert b.duration_ns / a.duration_ns == pytest.approx(13.31, abs=0.01)
    assert abs(int(b.nr_reclaimed) - int(a.nr_reclaimed)) == 1


def test_stap_slab_share_372_and_147():
    e372 = stap_episodes(reclaimctl.read(str(STAP_372))).iloc[0]
    e147 = stap_episodes(reclaimctl.read(str(STAP_147))).iloc[0]
    assert e372.slab_share == pytest.approx(632414632 / 857655483)  # 73.7 %
    assert e147.slab_share == pytest.approx(30230197 / 217154959)  # 13.9 %
    assert round(e372.slab_share * 100) == 74 and round(e147.slab_share * 100) == 14
    assert (e372.shrink_node_calls, e372.priorities, e372.shrink_node_slab_ns) == (40, "12..8", 632414632)
    assert (e147.shrink_node_calls, e147.priorities) == (16, "12..11")
    per_cpu = stap_slab_per_cpu(stap_episodes(reclaimctl.read(str(STAP_372))))
    assert per_cpu.to_dict("records") == [
        {"cpu": 13, "episodes": 1, "try_to_free_ns": 857655483, "shrink_slab_ns": 632414632,
         "slab_share": pytest.approx(0.73737, abs=1e-5)}
    ]


# ---------------------------------------------------------------- hand-written traces

HDR = "{comm}-{pid} [{cpu:03d}] .... {ts}: "


def line(comm: str, pid: int, cpu: int, ts: str, payload: str) -> str:
    return HDR.format(comm=comm, pid=pid, cpu=cpu, ts=ts) + payload + "\n"


BEGIN = "mm_vmscan_memcg_reclaim_begin: order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"
DBEGIN = "mm_vmscan_direct_reclaim_begin: order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"


def inactive(scanned: int, reclaimed: int, prio: int) -> str:
    return (f"mm_vmscan_lru_shrink_inactive: nid=0 nr_scanned={scanned} nr_reclaimed={reclaimed} nr_dirty=0 "
            f"nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 nr_activate_file=0 nr_ref_keep=0 "
            f"nr_unmap_fail=0 priority={prio} flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC")


def test_interleaved_tasks_migration_and_unmatched(parse_text):
    text = "".join([
        # a end whose begin is before the trace started
        line("a", 1, 0, "10.000000", "mm_vmscan_memcg_reclaim_end: nr_reclaimed=5"),
        line("b", 2, 1, "10.000100", BEGIN),
        line("c", 3, 2, "10.000200", DBEGIN),
        line("b", 2, 1, "10.000300", inactive(32, 10, 12)),
        line("c", 3, 2, "10.000400", inactive(32, 20, 12)),
        # b migrates from CPU 1 to CPU 3 inside its episode
        line("b", 2, 3, "10.000500", inactive(32, 30, 11)),
        line("c", 3, 2, "10.000600", "mm_vmscan_direct_reclaim_end: nr_reclaimed=20"),
        line("b", 2, 3, "10.002100", "mm_vmscan_memcg_reclaim_end: nr_reclaimed=40"),
        # d begins and the trace ends
        line("d", 4, 0, "10.003000", BEGIN),
        line("d", 4, 0, "10.003100", inactive(8, 1, 12)),
    ])
    ep = reclaim_episodes(parse_text(text))
    t = ep.table.set_index("pid")
    assert sorted(t.index) == [2, 3]
    assert (t.loc[2, "cpu"], t.loc[2, "end_cpu"]) == (1, 3)
    assert t.loc[2, "duration_ns"] == 2_000_000
    assert (t.loc[2, "shrink_inactive"], t.loc[2, "nr_scanned"], t.loc[2, "lowest_priority"]) == (2, 64, 11)
    assert (t.loc[3, "kind"], t.loc[3, "duration_ns"], t.loc[3, "shrink_inactive"]) == ("direct", 400_000, 1)
    assert ep.unmatched_end["pid"].tolist() == [1]
    assert ep.unmatched_begin["pid"].tolist() == [4]
    lat = latency_summary(ep.table).set_index("kind")
    assert lat.loc["memcg", "1-5ms"] == 1 and lat.loc["direct", "0-1ms"] == 1


def test_begin_after_begin_is_unmatched(parse_text):
    text = "".join([
        line("x", 7, 0, "1.000000", BEGIN),
        line("x", 7, 0, "1.100000", BEGIN),
        line("x", 7, 0, "1.300000", "mm_vmscan_memcg_reclaim_end: nr_reclaimed=32"),
    ])
    ep = reclaim_episodes(parse_text(text))
    assert ep.table["duration_ns"].tolist() == [200_000_000]
    assert ep.unmatched_begin["ts_ns"].tolist() == [1_000_000_000]


def test_empty_trace_has_no_episodes(parse_text):
    ep = reclaim_episodes(parse_text("# tracer: nop\n"))
    assert len(ep.table) == 0 and len(ep.unmatched_begin) == 0
    assert len(reclaim_ends(parse_text("\n"))) == 0


def test_per_cpu_histogram_keeps_31_and_32_apart(parse_text):
    vals = {0: [("5.1", 0), ("5.2", 31), ("5.3", 32), ("6.5", 40)], 1: [("5.5", 3), ("5.6", 31)]}
    text = "".join(line("p", 9 + cpu, cpu, ts + "00000", f"mm_vmscan_memcg_reclaim_end: nr_reclaimed={n}")
                   for cpu, xs in vals.items() for ts, n in xs)
    ends = reclaim_ends(parse_text(text))
    iv = per_cpu_intervals(ends).set_index(["cpu", "interval_s"])
    r = iv.loc[(0, 5.0)]
    assert (r["calls"], r["low"], r["all"], r["mean"]) == (3, 2, 3, pytest.approx(21.0))
    assert (r["0"], r["31"], r[">=32"]) == (1, 1, 1)
    assert iv.loc[(0, 6.0)][">=32"] == 1
    h = per_cpu_histogram(ends).set_index("cpu")
    assert h.loc["all", "calls"] == 6 and h.loc["all", "low"] == 4
    assert [h.loc["all", b] for b in ("0", "3", "31", ">=32")] == [1, 1, 2, 2]
    assert sum(h.loc["1", b] for b in BUCKETS) == 2


# ---------------------------------------------------------------- the stats command


def test_stats_summary_json_on_the_sample():
    proc = run_cli("stats", "kernel-372", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    views = {v["view"]: v["rows"] for v in map(json.loads, proc.stdout.splitlines())}
    assert views["episode latency"][0]["max_ms"] == pytest.approx(1043.374)
    assert views["shrink_slab share (systemtap)"][0]["slab_share"] == pytest.approx(0.7374, abs=1e-4)


def test_stats_per_cpu_csv_and_bad_source():
    proc = run_cli("stats", "per-cpu", "kernel-147", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert "cpu,interval_s,calls,mean,low,all" in proc.stdout
    bad = run_cli("stats", "per-cpu", "no-such-trace")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


# ---------------------------------------------------------------- per priority and compare


def test_per_priority_on_the_samples():
    from reclaimctl.analysis.priority import per_priority

    pp = per_priority(reclaimctl.read(str(LOG_372))).set_index("priority")
    assert list(pp.index) == [12, 11, 10, 9, 8] and set(pp["lru"]) == {"file"}
    assert pp["time_ms"].sum() == pytest.approx(1043.374)  # the whole episode, split by priority
    assert pp.loc[12, "time_ms"] == pytest.approx(668.008 - 625.682)  # begin .. first shrink_inactive
    assert pp.loc[8, "inactive_calls"] == 8 and pp.loc[8, "nr_scanned"] == 25 and pp.loc[8, "nr_reclaimed"] == 21
    assert pp["isolate_nr_taken"].sum() == 40  # every isolate is credited to the shrink call after it
    pp147 = per_priority(reclaimctl.read(str(LOG_147))).set_index("priority")
    assert pp147["time_ms"].sum() == pytest.approx(78.404)
    assert pp147["active_calls"].sum() == 9 and pp147.loc[10, "active_calls"] == 3


def test_compare_147_372_shows_the_notes_findings():
    from reclaimctl.analysis.compare import compare
    from reclaimctl.cli.sources import load

    df, test = compare(load("kernel-147"), load("kernel-372"))
    m = df.set_index("metric")
    assert m.loc["episodes.memcg.max_ms", "ratio"] == pytest.approx(1043.374 / 78.404)
    assert m.loc["episodes.memcg.pages_per_episode", "A"] == 32 and m.loc["episodes.memcg.pages_per_episode", "B"] == 33
    assert m.loc["episodes.lowest_priority", "A"] == m.loc["episodes.lowest_priority", "B"] == 8
    assert m.loc["slab.share_of_reclaim", "A"] == pytest.approx(0.1392, abs=1e-4)
    assert m.loc["slab.share_of_reclaim", "B"] == pytest.approx(0.7374, abs=1e-4)
    assert test.p_value is None and "too few episodes" in test.verdict
    # rows are sorted by |log(B/A)|: the first rows changed most
    ratios = df["ratio"].dropna()
    logs = [abs(__import__("math").log(r)) for r in ratios if r > 0]
    assert logs == sorted(logs, reverse=True)


def test_mann_whitney_known_answer():
    import numpy as np

    from reclaimctl.analysis.compare import mann_whitney

    t = mann_whitney(np.array([1.0, 2, 3, 4, 5]), np.array([6.0, 7, 8, 9, 10]))
    # U = 0; sd = sqrt(5*5/12*11); z = -12.5/sd = -2.611; p = erfc(2.611/sqrt(2))
    assert t.u == 0 and t.p_value == pytest.approx(0.00902, abs=1e-4)
    assert "B slower" in t.verdict
    same = mann_whitney(np.array([1.0, 2, 3, 4, 5]), np.array([1.0, 2, 3, 4, 5]))
    assert same.p_value == pytest.approx(1.0) and "no significant" in same.verdict


def test_kswapd_and_writeback_views(parse_text):
    from reclaimctl.analysis.kswapd import kswapd_per_node, wakeups_by_order, writeback

    text = "".join([
        line("app", 50, 1, "2.000000", "mm_vmscan_wakeup_kswapd: nid=0 zid=2 order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"),
        line("kswapd0", 90, 0, "2.000100", "mm_vmscan_kswapd_wake: nid=0 zid=2 order=0"),
        line("kswapd0", 90, 0, "2.000200", inactive(32, 30, 12)),
        line("kswapd0", 90, 0, "2.000300", "mm_vmscan_writepage: page=0000000012345678 pfn=1234 "
                                           "flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC"),
        line("kswapd0", 90, 0, "2.010100", "mm_vmscan_kswapd_sleep: nid=0"),
        line("app", 50, 1, "2.020000", "mm_vmscan_wakeup_kswapd: nid=0 zid=2 order=3 gfp_flags=GFP_KERNEL"),
        line("kswapd0", 90, 0, "2.020100", "mm_vmscan_kswapd_wake: nid=0 zid=2 order=3"),
        line("app", 50, 1, "2.021000", "mm_vmscan_writepage: page=0000000012345679 pfn=1235 "
                                       "flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"),
        line("kswapd0", 90, 0, "2.025100", "mm_vmscan_kswapd_sleep: nid=0"),
        line("x", 51, 1, "2.030000", "writeback_congestion_wait: usec_timeout=100000 usec_delayed=2500"),
    ])
    t = parse_text(text)
    n = kswapd_per_node(t).set_index("nid").loc[0]
    assert (n["wakes"], n["sleeps"], n["nr_scanned"], n["nr_reclaimed"]) == (2, 2, 32, 30)
    assert n["awake_ms"] == pytest.approx(10.0 + 5.0)
    assert wakeups_by_order(t)[["order", "wakeups"]].values.tolist() == [[0, 1], [3, 1]]
    pages, met, waits = writeback(t)
    assert pages.values.tolist() == [["direct", "anon", 1], ["kswapd", "file", 1]]
    assert met.set_index("reclaimer").loc["kswapd", "nr_scanned"] == 32
    assert waits.values.tolist() == [["writeback_congestion_wait", 1, 2.5]]
    from reclaimctl.analysis.episodes import kswapd_episodes

    ks = kswapd_episodes(t)
    assert ks["duration_ns"].tolist() == [10_000_000, 5_000_000] and set(ks["nid"]) == {0}


def test_by_task_counts_writepage_sync_and_async(parse_text):
    from reclaimctl.analysis.episodes import by_task

    text = "".join([
        line("w", 5, 0, "3.000000", DBEGIN),
        line("w", 5, 0, "3.000100", "mm_vmscan_writepage: page=00000000000000aa pfn=10 "
                                    "flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC"),
        line("w", 5, 0, "3.000200", "mm_vmscan_writepage: page=00000000000000ab pfn=11 "
                                    "flags=RECLAIM_WB_ANON|RECLAIM_WB_SYNC"),
        line("w", 5, 0, "3.000300", "mm_vmscan_writepage: page=00000000000000ac pfn=12 "
                                    "flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"),
        line("w", 5, 0, "3.001000", "mm_vmscan_direct_reclaim_end: nr_reclaimed=3"),
    ])
    t = parse_text(text)
    row = by_task(reclaim_episodes(t).table, t).iloc[0]
    assert (row["comm"], row["episodes"], row["writepage_sync"], row["writepage_async"]) == ("w", 1, 1, 2)
    assert row["total_ms"] == pytest.approx(1.0)


# ---------------------------------------------------------------- sources and the result store


def test_stats_without_source_uses_the_latest_parse(tmp_path):
    none = run_cli("stats")
    assert none.returncode != 0 and "no SOURCE given and no earlier result" in none.stderr
    assert run_cli("parse", "kernel-147").returncode == 0
    proc = run_cli("stats", "episodes", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "using the latest result: kernel-147" in proc.stderr
    rows = json.loads(proc.stdout.splitlines()[0])["rows"]
    assert rows[0]["max_ms"] == pytest.approx(78.404)
    out = tmp_path / "out"
    assert run_cli("parse", "kernel-372", "-o", str(out)).returncode == 0
    proc = run_cli("stats", "--format", "json")
    assert "using the latest result: kernel-372" in proc.stderr and str(out) in proc.stderr


def test_ambiguous_source_lists_both(tmp_path):
    (tmp_path / "kernel-372").write_text("")
    proc = run_cli("stats", "kernel-372", cwd=tmp_path)
    assert proc.returncode != 0 and "ambiguous" in proc.stderr and "sample:kernel-372" in proc.stderr
    ok = run_cli("stats", "episodes", "sample:kernel-372", "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_views_write_parquet_and_csv_files(tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    proc = run_cli("stats", "per-priority", "kernel-372", "--format", "parquet", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    t = pq.read_table(out / "shrink_inactive_per_priority.parquet").to_pandas().set_index("priority")
    assert t.loc[8, "nr_scanned"] == 25 and t["time_ms"].sum() == pytest.approx(1043.374)
    csv = tmp_path / "cmp.csv"
    assert run_cli("compare", "kernel-147", "kernel-372", "--format", "csv", "-o", str(csv)).returncode == 0
    text = csv.read_text()
    assert text.startswith("# A = kernel-147, B = kernel-372\nmetric,A,B,delta,ratio\n")
    bad = run_cli("stats", "slab", "kernel-372", "--format", "parquet")
    assert bad.returncode != 0 and "--format parquet needs --output DIR" in bad.stderr


@pytest.mark.parametrize("view,ext", [("episodes", "png"), ("per-priority", "svg"), ("per-cpu", "pdf")])
def test_plots_are_drawn(tmp_path, view, ext):
    path = tmp_path / f"out.{ext}"
    proc = run_cli("stats", view, "kernel-372", "--plot", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    head = path.read_bytes()[:8]
    assert head.startswith({"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}[ext])


def test_shrinkers_from_slab_events(parse_text):
    from reclaimctl.analysis.slab import shrinkers

    start = ("mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 000000003e89d20a: nid: 0 objects to shrink {o} "
             "gfp_flags GFP_KERNEL cache items {c} delta 12 total_scan 34 priority 12")
    end = ("mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 000000003e89d20a: nid: 0 unused scan count {u} "
           "new scan count {n} total_scan -118 last shrinker return val {f}")
    text = "".join([
        line("k", 8, 0, "4.000000", start.format(o=100, c=1000)),
        line("k", 8, 0, "4.000500", end.format(u=100, n=40, f=60)),
        line("k", 8, 0, "4.001000", start.format(o=40, c=3000)),
        line("k", 8, 0, "4.003000", end.format(u=40, n=50, f=10)),
    ])
    r = shrinkers(parse_text(text)).iloc[0]
    assert r["shrinker"] == "super_cache_scan+0x0/0x1a0"
    assert (r["calls"], r["objects_to_shrink"], r["freed"], r["deferred_growth"]) == (2, 140, 70, 90 - 140)
    assert r["mean_cache_items"] == pytest.approx(2000.0) and r["time_ms"] == pytest.approx(0.5 + 2.0)


def test_stats_latency_and_summary_headlines():
    proc = run_cli("stats", "latency", "kernel-372", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["rows"][0]
    assert (row["comm"], row["pid"], row["episodes"], row["nr_scanned"], row["nr_reclaimed"]) == ("bash", 16737, 1, 40, 33)
    proc = run_cli("stats", "kernel-372", "--format", "json")
    views = {v["view"]: v["rows"] for v in map(json.loads, proc.stdout.splitlines())}
    pr = views["priorities (see stats per-priority)"][0]
    assert pr["lowest_priority"] == 8 and pr["time_at_lowest_share"] == pytest.approx(367.678 / 1043.374, abs=1e-6)
