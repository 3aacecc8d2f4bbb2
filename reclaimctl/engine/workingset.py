"""Refault detection (mm/workingset.c), simplified as spec §8 says.

A page freed by reclaim leaves a shadow entry in its slot (page cache index, or anon id for a
swapped page): the lruvec whose clock it read, the clock value and whether the page was in the
workingset.  A refault compares the clock distance with the lruvec's workingset size and, when the
page would have stayed resident with that much more memory, activates it at once.
"""

from __future__ import annotations

from .jit import jit
from .params import SW_WORKINGSET, WORKINGSET_FILE_ONLY
from .state import (
    G_NR_NODES,
    G_SWAP_TOTAL,
    G_SWAP_USED,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LV_NONRESIDENT_AGE,
    LV_NR,
    LV_WS_ACTIVATE,
    PG_ACTIVE,
    PG_ANON,
    PG_WORKINGSET,
    VM_WORKINGSET_ACTIVATE,
    VM_WORKINGSET_REFAULT,
    VM_WORKINGSET_RESTORE,
)
from .swap import lru_note_cost, lruvec_parent, page_node, workingset_age_nonresident

SHADOW_VALID = 1 << 62
SHADOW_WORKINGSET = 1 << 61
CLOCK_BITS = 40
CLOCK_MASK = (1 << CLOCK_BITS) - 1
LV_MASK = (1 << 21) - 1


@jit
def pack_shadow(lv, clock, workingset):
    s = SHADOW_VALID | (lv << CLOCK_BITS) | (clock & CLOCK_MASK)
    if workingset:
        s |= SHADOW_WORKINGSET
    return s


@jit
def workingset_eviction(st, page, target_memcg):
    """The shadow to store for a page reclaim frees; 0 for none (P147: file pages only).

    P147 ticks the page's own lruvec clock; P372/P66 tick the reclaim target's lruvec (and its
    ancestors) and record that one (the root's for global reclaim)."""
    anon = (st.pg_flags[page] & PG_ANON) != 0
    if st.sw[SW_WORKINGSET] == WORKINGSET_FILE_ONLY:
        if anon:
            return 0
        lv = st.pg_lv[page]
    else:
        memcg = target_memcg if target_memcg >= 0 else 0
        lv = memcg * st.g[G_NR_NODES] + page_node(st, page)
    workingset_age_nonresident(st, lv, 1)
    return pack_shadow(lv, st.lv[lv, LV_NONRESIDENT_AGE], (st.pg_flags[page] & PG_WORKINGSET) != 0)


@jit
def count_refault(st, memcg, nid, item):
    st.vmstat[nid, item] += 1
    st.mcstat[memcg, item] += 1


@jit
def workingset_refault(st, page, shadow):
    """A page comes back where a shadow was: count it and decide activation (sets PG_active /
    PG_workingset on the new page, which has not joined the LRU yet)."""
    if not (shadow & SHADOW_VALID):
        return
    file = 0 if (st.pg_flags[page] & PG_ANON) else 1
    lv = (shadow >> CLOCK_BITS) & LV_MASK
    eviction = shadow & CLOCK_MASK
    workingset = (shadow & SHADOW_WORKINGSET) != 0
    nn = st.g[G_NR_NODES]
    # the refault is counted against the lruvec the page now belongs to (memcg and node stats)
    page_memcg = st.pg_lv[page] // nn
    count_refault(st, page_memcg, page_node(st, page), VM_WORKINGSET_REFAULT + file)
    refault_distance = (st.lv[lv, LV_NONRESIDENT_AGE] - eviction) & CLOCK_MASK
    if st.sw[SW_WORKINGSET] == WORKINGSET_FILE_ONLY:
        workingset_size = st.lv[lv, LV_NR + LRU_ACTIVE_FILE]
    else:
        workingset_size = st.lv[lv, LV_NR + LRU_ACTIVE_FILE]
        if not file:
            workingset_size += st.lv[lv, LV_NR + LRU_INACTIVE_FILE]
        if st.g[G_SWAP_TOTAL] - st.g[G_SWAP_USED] > 0:
            workingset_size += st.lv[lv, LV_NR + LRU_ACTIVE_ANON]
            if file:
                workingset_size += st.lv[lv, LV_NR + LRU_INACTIVE_ANON]
    if refault_distance > workingset_size:
        return
    st.pg_flags[page] |= PG_ACTIVE
    workingset_age_nonresident(st, lv, 1)
    count_refault(st, page_memcg, page_node(st, page), VM_WORKINGSET_ACTIVATE + file)
    k = lv
    while k >= 0:  # lruvec_page_state(WORKINGSET_ACTIVATE) is hierarchical
        st.lv[k, LV_WS_ACTIVATE + file] += 1
        k = lruvec_parent(st, k)
    if workingset:
        st.pg_flags[page] |= PG_WORKINGSET
        count_refault(st, page_memcg, page_node(st, page), VM_WORKINGSET_RESTORE + file)
        lru_note_cost(st, st.pg_lv[page], file, 1, 0)
