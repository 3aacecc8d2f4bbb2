"""LRU list primitives (include/linux/mm_inline.h): intrusive doubly linked lists, O(1) each.

A list is ``l * 5 + lru`` for lruvec ``l``; ``lru_head`` is the most recently added page, the tail
the oldest (reclaim scans from the tail, as ``lru_to_page`` does).  Every operation keeps the
lruvec's counters (``LV_NR + lru``, per zone ``lru_zcnt``) in step.
"""

from __future__ import annotations

from .jit import jit, jit_inline
from .state import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_UNEVICTABLE,
    LV_NR,
    N_NR_LRU,
    PG_ACTIVE,
    PG_ANON,
    PG_UNEVICTABLE,
    Z_IDX,
    Z_NODE,
    Z_NR_LRU,
)


@jit_inline
def page_is_file_lru(st, page):
    return (st.pg_flags[page] & PG_ANON) == 0


@jit_inline
def page_lru_base_type(st, page):
    """LRU_INACTIVE_ANON or LRU_INACTIVE_FILE."""
    return LRU_INACTIVE_ANON if (st.pg_flags[page] & PG_ANON) else LRU_INACTIVE_ANON + 2


@jit
def page_lru(st, page):
    """The list a page belongs on according to its flags (mm_inline.h page_lru)."""
    flags = st.pg_flags[page]
    if flags & PG_UNEVICTABLE:
        return LRU_UNEVICTABLE
    lru = page_lru_base_type(st, page)
    if flags & PG_ACTIVE:
        lru += LRU_ACTIVE_ANON
    return lru


@jit
def _count(st, page, lv, lru, delta):
    """Keep the list's counters in step: lruvec, per zone of the lruvec, node and zone totals."""
    st.lv[lv, LV_NR + lru] += delta
    z = st.pg_zone[page]
    st.lru_zcnt[lv * 5 + lru, st.zone[z, Z_IDX]] += delta
    st.node[st.zone[z, Z_NODE], N_NR_LRU + lru] += delta
    st.zone[z, Z_NR_LRU + lru] += delta


@jit
def add_page_to_lru_list(st, page, lv, lru):
    """At the head (most recent end)."""
    lst = lv * 5 + lru
    head = st.lru_head[lst]
    st.pg_prev[page] = -1
    st.pg_next[page] = head
    if head >= 0:
        st.pg_prev[head] = page
    else:
        st.lru_tail[lst] = page
    st.lru_head[lst] = page
    st.pg_lru[page] = lru
    _count(st, page, lv, lru, 1)


@jit
def add_page_to_lru_list_tail(st, page, lv, lru):
    lst = lv * 5 + lru
    tail = st.lru_tail[lst]
    st.pg_next[page] = -1
    st.pg_prev[page] = tail
    if tail >= 0:
        st.pg_next[tail] = page
    else:
        st.lru_head[lst] = page
    st.lru_tail[lst] = page
    st.pg_lru[page] = lru
    _count(st, page, lv, lru, 1)


@jit
def del_page_from_lru_list(st, page, lv, lru):
    lst = lv * 5 + lru
    prev = st.pg_prev[page]
    nxt = st.pg_next[page]
    if prev >= 0:
        st.pg_next[prev] = nxt
    else:
        st.lru_head[lst] = nxt
    if nxt >= 0:
        st.pg_prev[nxt] = prev
    else:
        st.lru_tail[lst] = prev
    st.pg_prev[page] = -1
    st.pg_next[page] = -1
    _count(st, page, lv, lru, -1)


@jit
def lruvec_lru_size(st, lv, lru, zone_idx):
    """Pages on the list in zones with index <= zone_idx (mm/vmscan.c lruvec_lru_size)."""
    lst = lv * 5 + lru
    total = 0
    for z in range(zone_idx + 1):
        if z < st.lru_zcnt.shape[1]:
            total += st.lru_zcnt[lst, z]
    return total
