"""Behaviour of the reclaim engine against the kernel's rules (spec §3-§6, validation V1, V7, V9, V10).

Machines are small so the runs are quick; every run checks the model's invariants after each step.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from reclaimctl.engine import profiles
from reclaimctl.engine.api import EngineError, Simulation, workload
from reclaimctl.engine.machine import MachineError, MachineSpec, MemcgSpec, TaskSpec
from reclaimctl.engine.shrink_lruvec import SCAN_FILE, SCAN_FRACT, get_scan_count
from reclaimctl.engine.state import (
    ARG_MLOCK,
    G_SWAPPINESS,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LV_ANON_COST,
    LV_FILE_COST,
    LV_NR,
    LV_RECENT_ROTATED,
    LV_RECENT_SCANNED,
    OP_ANON_FAULT,
    OP_ANON_TOUCH,
    OP_FILE_READ,
    OP_FILE_WRITE,
    OP_NOP,
    SC_ANON_COST,
    SC_FILE_COST,
    SC_MAY_SWAP,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SC_TARGET,
)
from reclaimctl.engine.swap import lru_add_drain_all


def _stream(n, op, spacing_ns, start=0):
    i = np.arange(n)
    return workload(i * spacing_ns, np.zeros(n), np.zeros(n), np.full(n, op), start + i, np.ones(n))


def _sim(profile="kernel-372", debug=1, **machine):
    """A one-node machine; ``debug`` = check the invariants every that many workload events."""
    spec = dict(node_pages=20_000, cpus_per_node=1)
    spec.update(machine)
    return Simulation(MachineSpec(**spec), profiles.get(profile),
                      tasks=[TaskSpec(1000, "app", anon_pages=60_000)], file_pages=60_000, debug=debug)


def _rows(tables, name):
    return tables[name].num_rows


# ---------------------------------------------------------------- get_scan_count by hand


def _scan_count(profile, sizes, *, costs=(0, 0), recent=((0, 0), (0, 0)), swappiness=60, target=-1, priority=2):
    sim = _sim(profile, swap_pages=100_000)
    st = sim.arrays
    st.g[G_SWAPPINESS] = swappiness
    lv = 0
    for lru, n in zip((LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE), sizes, strict=True):
        st.lv[lv, LV_NR + lru] = n
        st.lru_zcnt[lv * 5 + lru, 2] = n  # all in the Normal zone
    st.lv[lv, LV_ANON_COST], st.lv[lv, LV_FILE_COST] = costs
    st.lv[lv, LV_RECENT_SCANNED], st.lv[lv, LV_RECENT_SCANNED + 1] = recent[0]
    st.lv[lv, LV_RECENT_ROTATED], st.lv[lv, LV_RECENT_ROTATED + 1] = recent[1]
    s = 0
    st.sc[s, :] = 0
    st.sc[s, SC_PRIORITY] = priority
    st.sc[s, SC_RECLAIM_IDX] = 4
    st.sc[s, SC_MAY_SWAP] = 1
    st.sc[s, SC_TARGET] = target
    st.sc[s, SC_ANON_COST], st.sc[s, SC_FILE_COST] = costs
    nr = st.scratch[0, 0:4]
    mode = get_scan_count(sim.ref, s, lv, nr)
    return mode, list(nr)


def test_get_scan_count_cost_formula_372():
    # a=100, f=300: A = 500, F = 700, T = 1200; ap = 60*1201//501 = 143, fp = 140*1201//701 = 239
    # targets (size >> 2) scaled by fraction/382, rounded down for an online memcg
    mode, nr = _scan_count("kernel-372", (4000, 4000, 8000, 8000), costs=(100, 300))
    assert mode == SCAN_FRACT
    assert nr == [1000 * 143 // 382, 1000 * 143 // 382, 2000 * 239 // 382, 2000 * 239 // 382]


def test_get_scan_count_recent_rotated_formula_147():
    # inactive file low (2000 < 8000) so no "enough inactive file" shortcut; ap = 60*101//11 = 550,
    # fp = 140*301//31 = 1359, denominator 1910, rounded up
    mode, nr = _scan_count("kernel-147", (4000, 4000, 2000, 8000), recent=((100, 300), (10, 30)))
    assert mode == SCAN_FRACT
    up = lambda x, f: -(-x * f // 1910)  # noqa: E731
    assert nr == [up(1000, 550), up(1000, 550), up(500, 1359), up(2000, 1359)]


def test_get_scan_count_147_enough_inactive_file_scans_file_only():
    mode, nr = _scan_count("kernel-147", (4000, 4000, 8000, 8000))
    assert mode == SCAN_FILE
    assert nr == [0, 0, 2000, 2000]


@pytest.mark.parametrize("profile", ["kernel-147", "kernel-372", "upstream-6.6"])
def test_get_scan_count_cgroup_reclaim_with_swappiness_0_is_file_only(profile):
    mode, nr = _scan_count(profile, (4000, 4000, 2000, 8000), swappiness=0, target=0)
    assert mode == SCAN_FILE
    assert nr[:2] == [0, 0] and nr[2:] == [500, 2000]


# ---------------------------------------------------------------- V1: the kswapd band


def test_v1_kswapd_keeps_up_with_a_steady_stream_and_no_direct_reclaim():
    sim = _sim(node_pages=20_000)
    zones = sim.zones()
    wmin, low, high = int(zones["min"][0]), int(zones["low"][0]), int(zones["high"][0])
    assert (wmin, low, high) == (282, 352, 422)  # int_sqrt(80 000 kB * 16) = 1131 kB -> 282 pages
    # one new page cache page every 20 us; then quiet: kswapd finishes its nap and sleeps
    sim.run(_stream(50_000, OP_FILE_READ, 20_000), settle_ns=500_000_000)
    t = sim.tables()
    vm = sim.vmstat()
    assert _rows(t, "mm_vmscan_wakeup_kswapd") > 0 and _rows(t, "mm_vmscan_kswapd_sleep") == 1
    assert int(sim.zones()["free"][0]) >= high
    assert _rows(t, "mm_vmscan_direct_reclaim_begin") == 0 and vm["allocstall"] == 0
    assert vm["pgsteal_kswapd"] >= 50_000 - 20_000
    assert set(t["mm_vmscan_lru_isolate"].column("comm").to_pylist()) == {"kswapd0"}
    sim.check()


def test_v1_a_burst_faster_than_kswapd_ends_in_direct_reclaim():
    sim = _sim(node_pages=20_000)
    n = 30_000
    sim.run(workload(np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, OP_FILE_READ), np.arange(n), np.ones(n)))
    t = sim.tables()
    assert _rows(t, "mm_vmscan_direct_reclaim_begin") > 0
    ends = t["mm_vmscan_direct_reclaim_end"].column("nr_reclaimed").to_pylist()
    assert min(ends) >= 32  # clean, unreferenced page cache: every call meets its goal of 32


# ---------------------------------------------------------------- V9: where anon starts


@pytest.mark.parametrize("profile,active", [("kernel-147", True), ("kernel-372", False), ("upstream-6.6", False)])
def test_v9_new_anon_pages_start_active_only_on_147(profile, active):
    sim = _sim(profile, swap_pages=10_000)
    sim.run(_stream(1000, OP_ANON_FAULT, 1000))
    lru_add_drain_all(sim.ref)
    lists = sim.lruvecs().groupby("lru")["pages"].sum()
    assert lists["active_anon" if active else "inactive_anon"] == 1000
    assert lists["inactive_anon" if active else "active_anon"] == 0


# ---------------------------------------------------------------- V10: kswapd gives up


def test_v10_kswapd_stops_being_woken_after_16_failures():
    sim = _sim(node_pages=4_000)
    zones = sim.zones()
    assert (int(zones["min"][0]), int(zones["low"][0])) == (126, 157)
    # fill memory with mlocked anon until free (140) is between min and low: kswapd is woken and fails
    fill, late, past_min = 3_860, 5, 40
    ts = list(np.arange(fill) * 1000)
    ts += [10_000_000 + k * 100_000_000 for k in range(50)]  # five quiet seconds (no-ops)
    t_late = ts[-1] + 1_000_000
    ts += [t_late + k * 1000 for k in range(late + past_min)]
    n = len(ts)
    op = np.full(n, OP_ANON_FAULT)
    op[fill:fill + 50] = OP_NOP
    obj = np.arange(n)
    sim.run(workload(ts, np.zeros(n), np.zeros(n), op, obj, np.ones(n), np.full(n, ARG_MLOCK)))
    t = sim.tables()
    wakes = t["mm_vmscan_kswapd_wake"].column("ts_ns").to_numpy()
    assert len(wakes) == 16  # one balance_pgdat per failure, then it sleeps for good
    assert _rows(t, "mm_vmscan_kswapd_sleep") == 1
    assert t["mm_vmscan_lru_isolate"].num_rows == 0  # nothing evictable was ever taken
    wakeups = t["mm_vmscan_wakeup_kswapd"].column("ts_ns").to_numpy()
    assert len(wakeups) >= 1 and (wakeups < t_late).all()  # later allocations no longer wake it
    direct = t["mm_vmscan_direct_reclaim_begin"].column("ts_ns").to_numpy()
    assert len(direct) > 0 and (direct > t_late).all()  # below min they go straight to direct reclaim


# ---------------------------------------------------------------- V7: dirty page cache


@pytest.mark.parametrize("profile,kswapd_writes", [("kernel-147", True), ("kernel-372", True), ("upstream-6.6", False)])
def test_v7_only_kswapd_writes_file_pages(profile, kswapd_writes):
    # a slow disk and high dirty limits: most of the page cache is dirty when reclaim meets it
    sim = _sim(profile, debug=500, node_pages=10_000, writeback_pages_per_s=500, dirty_ratio=100,
               dirty_background_ratio=100)
    sim.run(_stream(20_000, OP_FILE_WRITE, 5_000), settle_ns=200_000_000)
    t = sim.tables()
    wp = t["mm_vmscan_writepage"]
    comms = set(wp.column("comm").to_pylist())
    assert comms <= {"kswapd0"}  # direct reclaim never writes a file page
    assert (wp.num_rows > 0) == kswapd_writes
    inactive = t["mm_vmscan_lru_shrink_inactive"]
    assert sum(inactive.column("nr_dirty").to_pylist()) > 0
    sim.check()


# ---------------------------------------------------------------- V6: swap write errors -> memcg OOM


@pytest.mark.parametrize("profile,calls", [("kernel-147", 7), ("kernel-372", 18), ("upstream-6.6", 18)])
def test_v6_swap_write_errors_end_in_memcg_oom_after_the_retry_budget(profile, calls):
    """Every swap write fails, so limit reclaim frees nothing: 1 call, the stock drain, 1 call, then
    MEM_CGROUP_RECLAIM_RETRIES (5) or MAX_RECLAIM_RETRIES (16) more, then the memcg OOM kill."""
    sim = Simulation(MachineSpec(node_pages=20_000, cpus_per_node=1, swap_pages=20_000, swap_error_rate=1.0),
                     profiles.get(profile), memcgs=[MemcgSpec("/test", max_pages=2_000)],
                     tasks=[TaskSpec(1000, "dd", memcg="/test", anon_pages=4_000)], debug=1)
    sim.run(_stream(4_000, OP_ANON_FAULT, 1_000))
    t = sim.tables()
    victim_ts = t["mark_victim"].column("ts_ns").to_numpy()
    assert len(victim_ts) == 1 and t["mark_victim"].column("victim_pid").to_pylist() == [1000]
    ends = t["mm_vmscan_memcg_reclaim_end"]
    before = ends.filter(pc.less_equal(ends.column("ts_ns"), victim_ts[0]))
    assert before.num_rows == calls
    assert set(before.column("nr_reclaimed").to_pylist()) == {0}
    wp = t["mm_vmscan_writepage"]
    assert wp.num_rows > 0 and set(wp.column("is_file").to_pylist()) == {False}
    assert sim.vmstat()["swap_write_errors"] > 0
    assert sim.memcgs().set_index("memcg").loc["/test", "oom_kill"] == 1


# ---------------------------------------------------------------- V2: inactive ratio in steady state


def _twice_read_stream(n_pages):
    """Every page read twice in a row: the second read activates it (mark_page_accessed)."""
    obj = np.repeat(np.arange(n_pages), 2)
    n = len(obj)
    return workload(np.arange(n) * 2_000, np.zeros(n), np.zeros(n), np.full(n, OP_FILE_READ), obj, np.ones(n))


@pytest.mark.parametrize("profile", ["kernel-372", "upstream-6.6"])
def test_v2_inactive_file_share_settles_at_one_over_one_plus_ratio(profile):
    # 300 000 pages of 4 KiB: the file LRU holds a bit over 1 GiB -> ratio int_sqrt(10 * 1) = 3 -> ~25 %
    sim = Simulation(MachineSpec(node_pages=300_000, cpus_per_node=1), profiles.get(profile),
                     tasks=[TaskSpec(1000, "reader")], file_pages=700_000, debug=100_000, stap=False)
    sim.run(_twice_read_stream(700_000))
    lists = sim.lruvecs().groupby("lru")["pages"].sum()
    share = lists["inactive_file"] / (lists["inactive_file"] + lists["active_file"])
    assert 0.20 <= share <= 0.30


def test_v2_147_traces_the_ratio_and_zero_after_refaults():
    sim = Simulation(MachineSpec(node_pages=300_000, cpus_per_node=1), profiles.get("kernel-147"),
                     tasks=[TaskSpec(1000, "reader")], file_pages=700_000, debug=100_000, stap=False)
    sim.run(_twice_read_stream(700_000))
    low = sim.tables()["mm_vmscan_inactive_list_is_low"].to_pandas()
    file_ratio = low[low["is_file"]]["ratio"]
    assert set(file_ratio) <= {3, 0} and (file_ratio == 3).sum() > 0


# ---------------------------------------------------------------- V3: dd in a small memcg, swappiness 100 vs 0


def _dd_in_memcg(profile, swappiness, chunks=20, bs=1280, limit=2560):
    """The notes' experiment scaled down 10x: a memcg of `limit` pages, dd with a `bs`-page anon buffer
    (touched before every chunk) writing `chunks` x `bs` pages through the page cache, swap on, cgroup v1."""
    sim = Simulation(MachineSpec(node_pages=40_000, cpus_per_node=1, swap_pages=40_000, swappiness=swappiness),
                     profiles.get(profile), memcgs=[MemcgSpec("/dd", max_pages=limit, swappiness=swappiness)],
                     tasks=[TaskSpec(1000, "dd", memcg="/dd", anon_pages=bs)], file_pages=chunks * bs, debug=1000)
    rows = []  # (ts, op, first object, count)
    t = 0
    for c in range(chunks):
        rows.append((t, OP_ANON_TOUCH, 0, bs))
        t += 1_000_000
        for k in range(bs):
            rows.append((t, OP_FILE_WRITE, c * bs + k, 1))
            t += 2_000
    ts, op, obj, cnt = (np.array(col) for col in zip(*rows, strict=True))
    n = len(ts)
    sim.run(workload(ts, np.zeros(n), np.zeros(n), op, obj, cnt), settle_ns=100_000_000)
    return sim


@pytest.mark.parametrize("profile", ["kernel-147", "kernel-372", "upstream-6.6"])
def test_v3_swappiness_100_reclaims_anon_and_0_never_does(profile):
    for swappiness in (100, 0):
        sim = _dd_in_memcg(profile, swappiness)
        t = sim.tables()
        inactive = t["mm_vmscan_lru_shrink_inactive"]
        anon_lines = inactive.filter(pc.invert(inactive.column("is_file"))).num_rows
        wp = t["mm_vmscan_writepage"]
        file_writes = wp.filter(wp.column("is_file")).num_rows
        assert (anon_lines > 0) == (swappiness == 100), (swappiness, anon_lines)
        assert file_writes == 0  # memcg reclaim never writes file pages
        assert sum(inactive.column("nr_immediate").to_pylist()) == 0  # a kswapd-only counter
        assert sum(inactive.column("nr_dirty").to_pylist()) > 0
        assert sim.vmstat()["oom_kills"] == 0


def test_the_state_is_borrowed_by_jitted_calls_and_keeps_its_arrays():
    """The StateRef is not reference-counted in jitted code: a call borrows it (its count stays 1, so
    the struct is freed with the Simulation) and the Simulation hangs the arrays on it."""
    sim = Simulation(MachineSpec(node_pages=4096, cpus_per_node=1), profiles.get("kernel-372"),
                     tasks=[TaskSpec(1000, "t")], file_pages=100)
    for _ in range(3):
        sim.run(_stream(100, OP_FILE_READ, 100))
        sim.check()
    assert sim.ref._meminfo.refcount == 1
    assert sim.ref._arrays is sim.arrays


@pytest.mark.parametrize(("spec", "memcgs", "message"), [
    (MachineSpec(hz=0), [], "machine.hz: expected at least 1, got 0"),
    (MachineSpec(swappiness=150), [], "machine.swappiness: expected 0..100 on kernel-147, got 150"),
    (MachineSpec(), [MemcgSpec("/a", swappiness=201)], "memcg /a: swappiness: expected 0..100 on kernel-147"),
])
def test_machines_the_engine_would_divide_by_zero_on_are_refused(spec, memcgs, message):
    with pytest.raises(MachineError, match=message):
        Simulation(spec, profiles.get("kernel-147"), memcgs=memcgs)


def test_debug_mode_stops_at_the_first_step_that_breaks_an_invariant():
    sim = _sim(node_pages=4096, debug=1)
    n = 2000
    sim.run(_stream(n, OP_FILE_READ, 1000))
    sim.check()  # a healthy model
    page = int(np.flatnonzero(sim.state.pg_lru >= 0)[0])
    sim.state.pg_lru[page] = (sim.state.pg_lru[page] + 1) % 5  # on one list, says another
    with pytest.raises(EngineError, match=rf"after step {n + 1}: a page on a list says it is elsewhere"):
        sim.run(_stream(10, OP_FILE_READ, 1000, start=n))
    with pytest.raises(EngineError, match="a page on a list says it is elsewhere"):
        sim.check()
