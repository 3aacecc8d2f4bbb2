"""The shrinker registry and the per-memcg bitmaps built from a registration history (spec §7.4).

Known answers worked by hand from mm/vmscan.c (prealloc_memcg_shrinker, the map expansion that
sets every old bit, unregister_shrinker) and list_lru_add (bits of charged objects).
"""

from __future__ import annotations

import pytest

from reclaimctl.engine.shrinker_registry import (
    RegistryError,
    ShrinkerSpec,
    SlabHistory,
    build_shrinkers,
    set_bits,
)
from reclaimctl.engine.state import SH_ID, SH_REGISTERED

MEMCGS = ["/", "/a", "/b"]


def _build(history: SlabHistory, kmem: bool = True, nodes: int = 2, online=(True, True, True)):
    return build_shrinkers(history, MEMCGS, list(online), nodes, kmem)


def test_lowest_free_id_is_reused_and_nr_max_never_shrinks():
    h = SlabHistory()
    for name in ("A", "B", "C"):
        h.register(ShrinkerSpec(name))
    h.unregister("B")
    h.register(ShrinkerSpec("D"))
    r = _build(h)
    ids = {r.specs[i].name: int(r.shr[i, SH_ID]) for i in range(len(r.specs)) if r.shr[i, SH_REGISTERED]}
    assert ids == {"A": 0, "C": 2, "D": 1}  # D took B's id
    assert r.nr_max == 3
    assert r.nr_registered == 3
    assert [r.specs[i].name for i in r.shr_list[:3]] == ["A", "C", "D"]  # registration order


def test_expansion_sets_every_old_bit_in_existing_memcgs_only():
    h = SlabHistory()
    h.register(ShrinkerSpec(), 64)  # ids 0..63: the first registration sizes the maps at 64 bits, none set
    r = _build(h)
    assert set_bits(r.mc_map, 1) == 0
    h.register(ShrinkerSpec())  # id 64: round_up(65, 64) = 128 > 64 -> maps grow, old 64 bits all set
    r = _build(h)
    assert r.nr_max == 65
    assert set_bits(r.mc_map, 1, 0) == 64 and set_bits(r.mc_map, 1, 1) == 64
    assert set_bits(r.mc_map, 0) == 0  # the root has no map
    # a memcg that comes online after the expansion starts clean
    late = SlabHistory().register(ShrinkerSpec(), 65).online("/b")
    r = _build(late)
    assert set_bits(r.mc_map, 1, 0) == 64 and set_bits(r.mc_map, 2) == 0


def test_growth_inside_the_same_word_does_not_expand():
    h = SlabHistory().register(ShrinkerSpec(), 65).register(ShrinkerSpec(), 63)  # ids up to 127
    r = _build(h)
    assert r.nr_max == 128
    assert set_bits(r.mc_map, 1, 0) == 64  # only the expansion at id 64 set bits
    h.register(ShrinkerSpec())  # id 128: maps grow again, all 128 old bits set
    assert set_bits(_build(h).mc_map, 1, 0) == 128


def test_unregistered_ids_keep_their_bits_and_are_reused():
    h = SlabHistory().register(ShrinkerSpec("sb"), 65).unregister("sb", 10)
    r = _build(h)
    assert r.nr_registered == 55 and r.nr_max == 65
    assert set_bits(r.mc_map, 1, 0) == 64  # stale bits stay until a walk finds no shrinker behind them
    assert (r.shr_idr[55:65] == -1).all()


def test_kmem_off_puts_slab_objects_on_the_root_lists_but_nonslab_still_sets_bits():
    h = SlabHistory()
    h.register(ShrinkerSpec("super_cache_scan", objects={"/a": 100}))
    h.register(ShrinkerSpec("deferred_split_scan", nonslab=True, empty_is_shrink_empty=False, objects={"/a": 7}))
    on = _build(h, kmem=True)
    assert on.shr_objs[0, 1, 0] == 100 and on.shr_objs[0, 0, 0] == 0
    assert set_bits(on.mc_map, 1, 0) == 2
    off = _build(h, kmem=False)
    assert off.shr_objs[0, 0, 0] == 100 and off.shr_objs[0, 1, 0] == 0  # uncharged: on the root's list
    assert off.shr_objs[1, 1, 0] == 7  # THP pages are charged user memory
    assert set_bits(off.mc_map, 1, 0) == 1
    # slab pages: 100 objects of 32 per page on each node -> 4 pages per node; NONSLAB objects need none
    assert list(on.slab_pages) == [4, 4]


def test_a_history_that_cannot_happen_is_refused():
    with pytest.raises(RegistryError, match="not registered"):
        _build(SlabHistory().unregister("nothing"))
    with pytest.raises(RegistryError, match="no memcg"):
        _build(SlabHistory().online("/nope"))
