"""Memory cgroups in the engine: memory.low (spec V8, §3.7), proportional protection (P372/P66),
limit writes, and the charge invariants (usage = pages charged to the memcg and its descendants)."""

from __future__ import annotations

import numpy as np
import pytest

from reclaimctl.engine import profiles
from reclaimctl.engine.api import Simulation, workload
from reclaimctl.engine.machine import MachineSpec, MemcgSpec, TaskSpec
from reclaimctl.engine.shrink_lruvec import get_scan_count
from reclaimctl.engine.state import (
    LRU_INACTIVE_FILE,
    LV_NR,
    MC_ELOW,
    MC_MEMSW,
    MC_USAGE,
    OP_ANON_FAULT,
    OP_FILE_READ,
    OP_MEMCG_SET_MAX,
    SC_MAY_SWAP,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SC_TARGET,
    SWAPPED,
    T_ANON_LO,
)

A_FILE, B_FILE = 800, 400


def _v8(profile: str) -> Simulation:
    """cgroup v2, no swap: /p (max 2000 pages) with A (low 1000, 800 pages of cache) and B (400 pages
    of cache, then anonymous memory that cannot be reclaimed)."""
    machine = MachineSpec(node_pages=20_000, cpus_per_node=1, cgroup_v2=True)
    memcgs = [MemcgSpec("/p", max_pages=2000), MemcgSpec("/p/A", low_pages=1000), MemcgSpec("/p/B")]
    tasks = [TaskSpec(100, "a", "/p/A"), TaskSpec(200, "b", "/p/B", anon_pages=2000)]
    return Simulation(machine, profiles.get(profile), memcgs, tasks, file_pages=A_FILE + B_FILE, debug=50)


def _b_faults(sim: Simulation, start_ns: int, first: int, n: int):
    aid = int(sim.state.task[1, T_ANON_LO]) + first
    ts = start_ns + np.arange(n) * 100_000
    return workload(ts, np.zeros(n), np.ones(n), np.full(n, OP_ANON_FAULT), aid + np.arange(n), np.ones(n))


def _file_pages(sim: Simulation, memcg: str) -> int:
    lv = sim.lruvecs()
    return int(lv[(lv.memcg == memcg) & lv.lru.str.endswith("_file")].pages.sum())


@pytest.mark.parametrize("profile", ["kernel-147", "kernel-372", "upstream-6.6"])
def test_v8_memory_low_protects_a_until_b_is_exhausted(profile):
    sim = _v8(profile)
    fill = workload([0, 1000], [0, 0], [0, 1], [OP_FILE_READ, OP_FILE_READ], [0, A_FILE], [A_FILE, B_FILE])
    sim.run(fill)
    # B's anon grows to 1800 - 1200 = 600 pages over the limit's room: B's own cache pays for it
    sim.run(_b_faults(sim, 1_000_000, 0, 1000))
    mc = sim.memcgs().set_index("memcg")
    assert _file_pages(sim, "/p/A") == A_FILE  # A skipped: memcg_low_skipped
    assert _file_pages(sim, "/p/B") < B_FILE
    assert mc.loc["/p/A", "events_low"] == 0
    # B keeps growing: its cache is gone, a pass frees nothing, the retry with memcg_low_reclaim
    # takes from A and counts MEMCG_LOW
    sim.run(_b_faults(sim, 200_000_000, 1000, 500))
    mc = sim.memcgs().set_index("memcg")
    assert _file_pages(sim, "/p/B") == 0
    assert _file_pages(sim, "/p/A") < A_FILE
    assert mc.loc["/p/A", "events_low"] > 0
    assert sim.vmstat()["oom_kills"] == 0
    sim.check()


@pytest.mark.parametrize(("profile", "expected"), [
    # 372/6.6: size - size * elow / (usage + 1) = 8000 - 8000 * 1000 // 1101 = 734, >> priority 2
    ("kernel-372", 734 >> 2),
    ("upstream-6.6", 734 >> 2),
    ("kernel-147", 8000 >> 2),  # 147 has no proportional protection: the whole list >> priority
])
def test_usage_slightly_above_low_is_scanned_in_proportion(profile, expected):
    sim = _v8(profile)
    st = sim.state
    a = sim.layout.memcgs.index("/p/A")
    lv = a  # one node: lruvec index = memcg
    st.lv[lv, LV_NR + LRU_INACTIVE_FILE] = 8000
    st.lru_zcnt[lv * 5 + LRU_INACTIVE_FILE, 2] = 8000  # Normal zone
    st.mc[a, MC_USAGE] = 1100
    st.mc[a, MC_ELOW] = 1000
    st.sc[0, :] = 0
    st.sc[0, SC_PRIORITY] = 2
    st.sc[0, SC_RECLAIM_IDX] = 4
    st.sc[0, SC_MAY_SWAP] = 1
    st.sc[0, SC_TARGET] = sim.layout.memcgs.index("/p")
    nr = st.scratch[0, 0:4]
    get_scan_count(sim.ref, 0, lv, nr)
    assert nr[LRU_INACTIVE_FILE] == expected


@pytest.mark.parametrize("v2", [False, True])
def test_writing_a_limit_below_usage_drains_stocks_and_reclaims(v2):
    machine = MachineSpec(node_pages=20_000, cpus_per_node=1, cgroup_v2=v2)
    sim = Simulation(machine, profiles.get("kernel-372"), [MemcgSpec("/m")], [TaskSpec(1, "t", "/m")],
                     file_pages=1000, debug=1)
    m = sim.layout.memcgs.index("/m")
    sim.run(workload([0, 10], [0, 0], [0, 0], [OP_FILE_READ, OP_MEMCG_SET_MAX], [0, 600], [1000, 1], [0, m]))
    mc = sim.memcgs().set_index("memcg")
    assert mc.loc["/m", "max"] == 600
    assert mc.loc["/m", "usage"] <= 600
    assert _file_pages(sim, "/m") <= 600
    assert sim.tables()["mm_vmscan_memcg_reclaim_begin"].num_rows >= 1


@pytest.mark.parametrize(("memsw", "swaps"), [(None, True), (3000, False)])
def test_v1_memsw_limit_stops_memcg_reclaim_from_swapping(memsw, swaps):
    """cgroup v1, swap on: a 3000-page memcg whose task grows 4000 pages of anon.  Without a memsw
    limit, limit reclaim swaps anon out (memsw = memory + swapped-out entries, checked every step);
    with memory.memsw.limit_in_bytes = memory.limit, swapping cannot help: the charge over memsw
    reclaims with may_swap = 0 (file only), finds nothing, and ends in the memcg OOM killer."""
    machine = MachineSpec(node_pages=40_000, cpus_per_node=1, swap_pages=20_000)
    sim = Simulation(machine, profiles.get("kernel-372"), [MemcgSpec("/m", max_pages=3000, memsw_max_pages=memsw)],
                     [TaskSpec(1, "grow", "/m", anon_pages=4000)], debug=25)
    n = 4000
    sim.run(workload(np.arange(n) * 10_000, np.zeros(n), np.zeros(n), np.full(n, OP_ANON_FAULT), np.arange(n),
                     np.ones(n)))
    t = sim.tables()
    inactive = t["mm_vmscan_lru_shrink_inactive"].to_pandas()
    anon_scans = int((~inactive.is_file).sum()) if len(inactive) else 0
    m = sim.layout.memcgs.index("/m")
    if swaps:
        assert anon_scans > 0 and sim.vmstat()["swap_used"] > 0
        swapped_out = int((sim.state.anon_map == SWAPPED).sum())  # swap-cache pages are in usage already
        assert swapped_out > 0
        assert sim.state.mc[m, MC_MEMSW] == sim.state.mc[m, MC_USAGE] + swapped_out
        assert sim.vmstat()["oom_kills"] == 0
    else:
        assert anon_scans == 0 and sim.vmstat()["swap_used"] == 0
        assert sim.memcgs().set_index("memcg").loc["/m", "oom_kill"] == 1
    sim.check()
