"""Slab shrinking in the engine against hand-computed answers (spec §7.2, §7.3, §7.6).

do_shrink_slab's two delta formulas are run call by call on one shrinker with 10 000 objects on the
root's list (seeks 2, batch 128); shrink_slab_memcg is timed on a memcg whose bitmap an expansion
filled, under each kernel's nokmem rule.  Costs are the profile defaults: c_slab_call 80,
c_slab_entry 150 (+150 per other reclaimer), c_bit 40, c_bit_clear 10, c_count 200 ns.
"""

from __future__ import annotations

import numpy as np
import pytest

from reclaimctl.engine import profiles
from reclaimctl.engine.api import Simulation
from reclaimctl.engine.machine import MachineSpec, MemcgSpec
from reclaimctl.engine.shrinker import do_shrink_slab, shrink_slab
from reclaimctl.engine.shrinker_registry import ShrinkerSpec, SlabHistory, set_bits
from reclaimctl.engine.state import (
    G_NOW,
    N_SLAB_PAGES,
    SC_CONCURRENT,
    SC_PRIORITY,
    Z_FREE,
)


def _sim(profile: str, history: SlabHistory, overrides=()) -> Simulation:
    prof = profiles.override(profiles.get(profile), list(overrides))
    return Simulation(MachineSpec(node_pages=4096, cpus_per_node=1), prof, memcgs=[MemcgSpec("/a")],
                      slab=history, stap=False, debug=1)


def _root_shrinker(profile: str) -> Simulation:
    h = SlabHistory().register(ShrinkerSpec("super_cache_scan+0x0/0x1a0", objects={"/": 10_000}))
    sim = _sim(profile, h)
    sim.state.sc[0, SC_CONCURRENT] = 1
    return sim


def _slab_rows(sim: Simulation):
    t = sim.tables()
    return t["mm_shrink_slab_start"].to_pandas(), t["mm_shrink_slab_end"].to_pandas()


def test_old_formula_defers_until_a_whole_batch_is_due():
    """147: delta = (10000 >> 12) * 4 / 2 = 4 per call, all of it deferred while total_scan < 128;
    the 32nd call takes nr = 124, total_scan = 128 and scans one batch; nothing is left deferred."""
    sim = _root_shrinker("kernel-147")
    sim.state.sc[0, SC_PRIORITY] = 12
    freed = [do_shrink_slab(sim.ref, 0, 0, 0, 0) for _ in range(32)]
    start, end = _slab_rows(sim)
    assert start.nr_objects_to_shrink.tolist() == [4 * k for k in range(32)]
    assert start.delta.unique().tolist() == [4] and start.cache_items.iloc[0] == 10_000
    assert start.total_scan.tolist() == [4 * k + 4 for k in range(32)]
    assert end.new_scan.tolist() == [4 * k + 4 for k in range(31)] + [0]
    assert freed == [0] * 31 + [128]
    assert end.retval.iloc[-1] == 128 and end.total_scan.iloc[-1] == 0
    assert start.shrink.iloc[0] == "super_cache_scan+0x0/0x1a0"
    sim.check()


def test_new_formula_ages_deferred_work_by_priority():
    """372: total_scan = (nr >> priority) + delta stays 4 at priority 12 while nr grows by 4 a call.
    At priority 0 with nr = 128: delta = 20000, total_scan = min(128 + 20000, 2 * 10000) = 20000;
    156 batches scan 19968 objects and free all 10000; next = min(128 + 20000 - 19968, 20000) = 160.
    312 whole slab pages (32 objects each) go back to the zone."""
    sim = _root_shrinker("upstream-6.6")
    st = sim.state
    st.sc[0, SC_PRIORITY] = 12
    for _ in range(32):
        do_shrink_slab(sim.ref, 0, 0, 0, 0)
    free_before = int(st.zone[0, Z_FREE])
    assert st.node[0, N_SLAB_PAGES] == 313  # ceil(10000 / 32)
    st.sc[0, SC_PRIORITY] = 0
    pages = shrink_slab(sim.ref, 0, 0, 0)
    start, end = _slab_rows(sim)
    assert start.total_scan.iloc[:32].unique().tolist() == [4]
    assert end.new_scan.iloc[:32].tolist() == [4 * k + 4 for k in range(32)]
    last_start, last_end = start.iloc[-1], end.iloc[-1]
    assert (last_start.nr_objects_to_shrink, last_start.delta, last_start.total_scan) == (128, 20_000, 20_000)
    assert (last_end.retval, last_end.total_scan, last_end.new_scan) == (10_000, 32, 160)
    assert pages == 312 and st.zone[0, Z_FREE] == free_before + 312 and st.node[0, N_SLAB_PAGES] == 1
    assert sim.vmstat()["slabs_scanned"] == 19_968
    sim.check()


def _expanded(profile: str, overrides=(), concurrent: int = 1) -> Simulation:
    """/a online, deferred_split (id 0, NONSLAB), then 64 superblocks: the expansion at id 64 sets
    bits 0..63 in /a on its node.  No objects anywhere."""
    h = SlabHistory()
    h.register(ShrinkerSpec("deferred_split_scan+0x0/0x2d0", nonslab=True, empty_is_shrink_empty=False))
    h.register(ShrinkerSpec("super_cache_scan+0x0/0x1a0"), 64)
    sim = _sim(profile, h, overrides)
    sim.state.sc[0, SC_CONCURRENT] = concurrent
    sim.state.sc[0, SC_PRIORITY] = 12
    return sim


@pytest.mark.parametrize(("profile", "overrides", "ns", "bits_after"), [
    ("kernel-147", ("kmem=off",), 80, 64),  # nokmem: shrink_slab_memcg returns at once
    ("kernel-372", ("kmem=off",), 80 + 150 + 64 * 40 + 200, 64),  # 64 bits visited, 63 skipped and kept
    ("upstream-6.6", ("kmem=off",), 80 + 150 + 64 * 40 + 200, 64),
    ("kernel-372-fixed", ("kmem=off",), 80 + 150 + 64 * 40 + 63 * 10 + 200, 1),  # skipped bits cleared
    # kmem on: each empty superblock is counted (SHRINK_EMPTY), its bit cleared, counted again
    ("kernel-372", (), 80 + 150 + 64 * 40 + 63 * (10 + 2 * 200) + 200, 1),
    ("kernel-147", (), 80 + 150 + 64 * 40 + 63 * (10 + 2 * 200) + 200, 1),
])
def test_shrink_slab_memcg_walk_costs_and_bits(profile, overrides, ns, bits_after):
    sim = _expanded(profile, overrides)
    a = sim.layout.memcgs.index("/a")
    assert set_bits(sim.state.mc_map, a, 0) == 64
    t0 = int(sim.state.g[G_NOW])
    assert shrink_slab(sim.ref, 0, 0, a) == 0
    assert int(sim.state.g[G_NOW]) - t0 == ns
    assert set_bits(sim.state.mc_map, a, 0) == bits_after
    sim.check()


def test_contention_and_stale_bits():
    """Three reclaimers: entry costs 150 + 2 x 150.  Ten superblocks unregistered: their bits are
    cleared on the first walk even on 372 (no shrinker behind them), so the second walk is cheaper."""
    h = SlabHistory()
    h.register(ShrinkerSpec("super_cache_scan+0x0/0x1a0"), 65).unregister("super_cache_scan+0x0/0x1a0", 10)
    sim = _sim("kernel-372", h, ("kmem=off",))
    st = sim.state
    st.sc[0, SC_CONCURRENT] = 3
    a = sim.layout.memcgs.index("/a")
    walks = []
    for _ in range(2):
        t0 = int(st.g[G_NOW])
        shrink_slab(sim.ref, 0, 0, a)
        walks.append(int(st.g[G_NOW]) - t0)
    # ids 55..63 of the 64 set bits are free: 9 cleared (id 64 was never in the old map)
    assert walks == [80 + 450 + 64 * 40 + 9 * 10, 80 + 450 + 55 * 40]
    assert set_bits(st.mc_map, a, 0) == 55
    assert np.all(st.shr_idr[55:65] == -1)


def test_an_offline_memcg_is_walked_for_pages_but_not_for_slab():
    """A zombie (deleted, still pinned by its pages) keeps its bits, but shrink_slab_memcg returns at
    once for an offline memcg on every kernel: only the shrink_slab call is paid."""
    h = SlabHistory().register(ShrinkerSpec("super_cache_scan+0x0/0x1a0"), 65)
    prof = profiles.override(profiles.get("kernel-372"), ["kmem=off"])
    sim = Simulation(MachineSpec(node_pages=4096, cpus_per_node=1), prof,
                     memcgs=[MemcgSpec("/a", online=False)], slab=h, stap=False, debug=1)
    a = sim.layout.memcgs.index("/a")
    sim.state.sc[0, SC_PRIORITY] = 12
    t0 = int(sim.state.g[G_NOW])
    shrink_slab(sim.ref, 0, 0, a)
    assert int(sim.state.g[G_NOW]) - t0 == 80
    assert set_bits(sim.state.mc_map, a, 0) == 64
