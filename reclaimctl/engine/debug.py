"""Invariant checks of the model's state (the engine's debug switch runs them after every step).

``check_invariants`` returns 0 or the number of the first broken rule; ``RULES`` says what each
number means.  Tests run with checking on.
"""

from __future__ import annotations

from .jit import jit
from .state import (
    BATCH_LRU_ADD,
    CPU_NR,
    CPU_STOCK_MEMCG,
    CPU_STOCK_NR,
    G_MEMSW,
    G_NR_NODES,
    G_SHRINKER_NR_MAX,
    G_SWAP_USED,
    IN_BATCH,
    IN_FREE,
    IN_ISOLATED,
    IN_NONE,
    IN_SLAB,
    LV_NR,
    MC_FORCED,
    MC_MAX,
    MC_MEMSW,
    MC_PARENT,
    MC_USAGE,
    N_SLAB_HEAD,
    N_SLAB_PAGES,
    NR_LRU_LISTS,
    PG_LRU,
    PG_SWAPCACHE,
    SCR_ZCOUNT,
    SWAPPED,
    T_ANON_HI,
    T_ANON_LO,
    T_MEMCG,
    Z_FREE,
    Z_FREE_HEAD,
    Z_IDX,
)

RULES = {
    1: "a list's links are broken (prev/next disagree)",
    2: "a page on a list says it is elsewhere (pg_lru or pg_lv disagree with the list)",
    3: "a list's length differs from its counter",
    4: "a list's per-zone lengths differ from their counters",
    5: "a zone's free list length differs from its free counter",
    6: "pages are lost: free + on LRU + in batches + isolated != total",
    7: "a page is isolated or half-allocated between workload steps",
    8: "swap slots used != swap-cache pages + swapped-out anon ids",
    9: "a memcg's usage differs from the pages charged to it and its descendants (stocks included)",
    10: "a page on an LRU list lacks PG_LRU, or a page off the lists has it",
    11: "an add batch holds a page that is not marked as batched",
    12: "a node's slab stack length differs from its counter, or holds a page not marked as slab",
    13: "a memcg has a shrinker bit set at or above shrinker_nr_max",
    14: "a memcg's usage exceeds its limit without a force charge",
    15: "a memcg's memsw usage differs from its pages, stocks and swapped-out entries (v1)",
}


@jit
def stack_length(st, head, where):
    """Pages on a pg_next-linked stack (a zone's free list, a node's slab pages), or -1 if one of
    them is not marked ``where``."""
    n = 0
    p = head
    while p >= 0:
        if st.pg_lru[p] != where:
            return -1
        n += 1
        p = st.pg_next[p]
    return n


@jit
def check_invariants(st):
    npages = st.pg_flags.shape[0]
    seen = st.dbg_seen
    seen[:] = 0
    on_lists = 0
    nlists = st.lru_head.shape[0]
    zcount = st.scratch[0, SCR_ZCOUNT:SCR_ZCOUNT + 5]
    for lst in range(nlists):
        lv = lst // 5
        lru = lst % 5
        n = 0
        zcount[:] = 0
        prev = -1
        p = st.lru_head[lst]
        while p >= 0:
            if st.pg_prev[p] != prev:
                return 1
            if st.pg_lru[p] != lru or st.pg_lv[p] != lv or seen[p]:
                return 2
            if not (st.pg_flags[p] & PG_LRU):
                return 10
            seen[p] = 1
            zcount[st.zone[st.pg_zone[p], Z_IDX]] += 1
            n += 1
            prev = p
            p = st.pg_next[p]
        if st.lru_tail[lst] != prev:
            return 1
        if n != st.lv[lv, LV_NR + lru]:
            return 3
        for z in range(zcount.shape[0]):
            if zcount[z] != st.lru_zcnt[lst, z]:
                return 4
        on_lists += n
    free = 0
    for z in range(st.zone.shape[0]):
        n = stack_length(st, st.zone[z, Z_FREE_HEAD], IN_FREE)
        if n != st.zone[z, Z_FREE]:
            return 5
        free += n
    slab = 0
    for nid in range(st.node.shape[0]):
        n = stack_length(st, st.node[nid, N_SLAB_HEAD], IN_SLAB)
        if n != st.node[nid, N_SLAB_PAGES]:
            return 12
        slab += n
    nr_max = st.g[G_SHRINKER_NR_MAX]
    for m in range(st.mc_map.shape[0]):
        for nid in range(st.mc_map.shape[1]):
            for w in range(st.mc_map.shape[2]):
                word = st.mc_map[m, nid, w]
                if word == 0:
                    continue
                for b in range(64):
                    if (word >> b) & 1 and w * 64 + b >= nr_max:
                        return 13
    batched = 0
    for c in range(st.cpu.shape[0]):
        for i in range(st.cpu[c, CPU_NR + BATCH_LRU_ADD]):
            if st.pg_lru[st.cpu_batch[c, BATCH_LRU_ADD, i]] != IN_BATCH:
                return 11
    swapcache = 0
    owned = st.dbg_owned
    owned[:] = 0
    nn = st.g[G_NR_NODES]
    for p in range(npages):
        where = st.pg_lru[p]
        if where == IN_BATCH:
            batched += 1
        elif where == IN_ISOLATED or where == IN_NONE:
            return 7
        if where < NR_LRU_LISTS and not seen[p]:
            return 2
        if where >= NR_LRU_LISTS and (st.pg_flags[p] & PG_LRU):
            return 10
        if where != IN_FREE and where != IN_SLAB:
            owned[st.pg_lv[p] // nn] += 1
            if st.pg_flags[p] & PG_SWAPCACHE:
                swapcache += 1
    if free + on_lists + batched + slab != npages:
        return 6
    swapped = 0
    for a in range(st.anon_map.shape[0]):
        if st.anon_map[a] == SWAPPED:
            swapped += 1
    if st.g[G_SWAP_USED] != swapcache + swapped:
        return 8
    for c in range(st.cpu.shape[0]):
        m = st.cpu[c, CPU_STOCK_MEMCG]
        if m >= 0:
            owned[m] += st.cpu[c, CPU_STOCK_NR]
    # children come after their parent in pre-order: fold counts upwards from the end
    total = owned
    for k in range(st.mc_order.shape[0] - 1, 0, -1):
        m = st.mc_order[k]
        total[st.mc[m, MC_PARENT]] += total[m]
    for m in range(st.mc.shape[0]):
        if total[m] != st.mc[m, MC_USAGE]:
            return 9
        if st.mc[m, MC_USAGE] > st.mc[m, MC_MAX] and not st.mc[m, MC_FORCED]:
            return 14
    if st.g[G_MEMSW]:
        # swapped-out entries are charged to the memcg of the task that owns the anon id
        owned[:] = 0
        for t in range(st.task.shape[0]):
            for a in range(st.task[t, T_ANON_LO], st.task[t, T_ANON_HI]):
                if st.anon_map[a] == SWAPPED:
                    owned[st.task[t, T_MEMCG]] += 1
        for k in range(st.mc_order.shape[0] - 1, 0, -1):
            m = st.mc_order[k]
            owned[st.mc[m, MC_PARENT]] += owned[m]
        for m in range(st.mc.shape[0]):
            if st.mc[m, MC_MEMSW] != st.mc[m, MC_USAGE] + owned[m]:
                return 15
    return 0
