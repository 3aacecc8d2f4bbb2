"""Per-CPU LRU batches, page activation and LRU cost (mm/swap.c).

New pages enter the LRU through the CPU's ``lru_add`` batch (15 pages, PAGEVEC_SIZE); activation of
a page already on the LRU goes through the ``activate`` batch.  Pages in a batch are charged but on
no list and invisible to reclaim until ``lru_add_drain`` (which the reclaiming CPU runs at the start
of every shrink_*_list).
"""

from __future__ import annotations

from .jit import jit
from .mm_inline import add_page_to_lru_list, del_page_from_lru_list, page_is_file_lru, page_lru
from .params import (
    LRU_COST_IO32_ROTATED,
    LRU_COST_NONE,
    SW_LRU_COST,
    SW_WORKINGSET,
    WORKINGSET_FILE_ONLY,
)
from .state import (
    BATCH_ACTIVATE,
    BATCH_LRU_ADD,
    CPU_NR,
    G_NR_NODES,
    IN_BATCH,
    LRU_ACTIVE_ANON,
    LRU_UNEVICTABLE,
    LV_ANON_COST,
    LV_FILE_COST,
    LV_NONRESIDENT_AGE,
    LV_NR,
    MC_PARENT,
    PAGEVEC_SIZE,
    PG_ACTIVE,
    PG_LRU,
    PG_REFERENCED,
    PG_UNEVICTABLE,
    VM_PGACTIVATE,
    Z_NODE,
)


@jit
def page_node(st, page):
    return st.zone[st.pg_zone[page], Z_NODE]


@jit
def lruvec_parent(st, lv):
    """The same node's lruvec of the parent memcg, -1 for the root."""
    nn = st.g[G_NR_NODES]
    memcg = lv // nn
    parent = st.mc[memcg, MC_PARENT]
    if parent < 0:
        return -1
    return parent * nn + lv % nn


@jit
def workingset_age_nonresident(st, lv, nr_pages):
    """Advance the workingset clock: P147 only the page's lruvec (inactive_age); P372/P66 the lruvec
    and every ancestor's (mm/workingset.c workingset_age_nonresident, 5.9+)."""
    if st.sw[SW_WORKINGSET] == WORKINGSET_FILE_ONLY:
        st.lv[lv, LV_NONRESIDENT_AGE] += nr_pages
        return
    while lv >= 0:
        st.lv[lv, LV_NONRESIDENT_AGE] += nr_pages
        lv = lruvec_parent(st, lv)


@jit
def workingset_activation(st, page):
    """mark_page_accessed activated a page: age the clock (P147: file pages only)."""
    if st.sw[SW_WORKINGSET] == WORKINGSET_FILE_ONLY and not page_is_file_lru(st, page):
        return
    workingset_age_nonresident(st, st.pg_lv[page], 1)


@jit
def lru_note_cost(st, lv, file, nr_io, nr_rotated):
    """Charge reclaim cost to the lruvec and its ancestors; halve both costs when their sum passes a
    quarter of that lruvec's LRU pages (mm/swap.c lru_note_cost, P372 and P66 forms)."""
    mode = st.sw[SW_LRU_COST]
    if mode == LRU_COST_NONE:
        return
    cost = nr_io if mode != LRU_COST_IO32_ROTATED else nr_io * 32 + nr_rotated
    if cost == 0:
        return
    while lv >= 0:
        if file:
            st.lv[lv, LV_FILE_COST] += cost
        else:
            st.lv[lv, LV_ANON_COST] += cost
        lrusize = 0
        for lru in range(4):
            lrusize += st.lv[lv, LV_NR + lru]
        if st.lv[lv, LV_ANON_COST] + st.lv[lv, LV_FILE_COST] > lrusize // 4:
            st.lv[lv, LV_ANON_COST] //= 2
            st.lv[lv, LV_FILE_COST] //= 2
        lv = lruvec_parent(st, lv)


@jit
def _lru_add(st, page):
    st.pg_flags[page] |= PG_LRU
    add_page_to_lru_list(st, page, st.pg_lv[page], page_lru(st, page))


@jit
def _activate(st, page):
    """__activate_page: an inactive page on the LRU moves to the head of the active list."""
    flags = st.pg_flags[page]
    if not (flags & PG_LRU) or (flags & (PG_ACTIVE | PG_UNEVICTABLE)):
        return
    lru = st.pg_lru[page]
    if lru >= LRU_UNEVICTABLE or lru % 2 == 1:
        return
    lv = st.pg_lv[page]
    del_page_from_lru_list(st, page, lv, lru)
    st.pg_flags[page] |= PG_ACTIVE
    add_page_to_lru_list(st, page, lv, lru + LRU_ACTIVE_ANON)
    st.vmstat[page_node(st, page), VM_PGACTIVATE] += 1


@jit
def drain_cpu_batch(st, cpu, kind):
    n = st.cpu[cpu, CPU_NR + kind]
    for i in range(n):
        page = st.cpu_batch[cpu, kind, i]
        if kind == BATCH_LRU_ADD:
            if st.pg_lru[page] == IN_BATCH:
                _lru_add(st, page)
        else:
            _activate(st, page)
    st.cpu[cpu, CPU_NR + kind] = 0


@jit
def lru_add_drain_cpu(st, cpu):
    drain_cpu_batch(st, cpu, BATCH_LRU_ADD)
    drain_cpu_batch(st, cpu, BATCH_ACTIVATE)


@jit
def lru_add_drain_all(st):
    for cpu in range(st.cpu.shape[0]):
        lru_add_drain_cpu(st, cpu)


@jit
def pagevec_add(st, cpu, kind, page):
    """Append to the CPU's batch; a full batch is flushed."""
    n = st.cpu[cpu, CPU_NR + kind]
    st.cpu_batch[cpu, kind, n] = page
    st.cpu[cpu, CPU_NR + kind] = n + 1
    if n + 1 >= PAGEVEC_SIZE:
        drain_cpu_batch(st, cpu, kind)


@jit
def lru_cache_add(st, cpu, page):
    """A new page joins the CPU's lru_add batch; a full batch is flushed onto the lists."""
    st.pg_lru[page] = IN_BATCH
    pagevec_add(st, cpu, BATCH_LRU_ADD, page)


@jit
def activate_page(st, cpu, page):
    """Queue an LRU page for activation; a page still in an add batch is just flagged active."""
    if st.pg_lru[page] == IN_BATCH:
        st.pg_flags[page] |= PG_ACTIVE
        return
    if not (st.pg_flags[page] & PG_LRU):
        return
    pagevec_add(st, cpu, BATCH_ACTIVATE, page)


@jit
def mark_page_accessed(st, cpu, page):
    """inactive,unreferenced -> inactive,referenced -> active,unreferenced (mm/swap.c)."""
    flags = st.pg_flags[page]
    if not (flags & PG_ACTIVE) and not (flags & PG_UNEVICTABLE) and (flags & PG_REFERENCED):
        activate_page(st, cpu, page)
        st.pg_flags[page] &= ~PG_REFERENCED
        workingset_activation(st, page)
    elif not (flags & PG_REFERENCED):
        st.pg_flags[page] |= PG_REFERENCED

