"""Slab shrinking (mm/vmscan.c shrink_slab, shrink_slab_memcg, do_shrink_slab; spec §7).

``shrink_slab`` is called once per visited (memcg, node) of shrink_node.  The root memcg walks every
registered shrinker in registration order; any other memcg walks the set bits of its shrinker
bitmap on that node.  Under ``cgroup.memory=nokmem`` (profile switch ``kmem`` off) the three kernels
differ (spec §7.3): 4.18.0-147 returns at once, 4.18.0-372 and v6.6 visit every set bit and skip
the slab shrinkers without clearing their bits, the 372 fix clears the bit it skips.

Time advances by the cost model of spec §7.6 (``c_slab_call``, ``c_slab_entry`` plus its contention
term, ``c_bit``, ``c_bit_clear``, ``c_count``, ``c_shrink_base + c_obj`` per object) and is summed in
the scan_control's slab clock, which the systemtap emulation reports as shrink_slab_delta.

Objects live in ``shr_objs[shrinker, memcg, node]``; freeing them gives back whole slab pages from
the node's slab stack, credited to the reclaim through reclaim_state as the kernel does.
"""

from __future__ import annotations

from numba.cpython.unsafe.numbers import trailing_zeros

from .jit import jit
from .page_alloc import free_unref_page
from .params import (
    C_BIT,
    C_BIT_CLEAR,
    C_COUNT,
    C_OBJ,
    C_PROBE,
    C_SHRINK_BASE,
    C_SLAB_CALL,
    C_SLAB_ENTRY,
    C_SLAB_ENTRY_CONTENTION,
    DEFERRED_PER_MEMCG_NODE,
    NOKMEM_RETURN_EARLY,
    NOKMEM_WALK_SKIP_CLEAR_BIT,
    SLAB_FORMULA_OLD,
    SW_KMEM,
    SW_NOKMEM_SLAB,
    SW_SHRINK_SLAB_FORMULA,
    SW_SHRINKER_DEFERRED,
)
from .shrink_list import tick
from .state import (
    G_NOW,
    G_NR_SHRINKERS,
    G_SHRINKER_NR_MAX,
    G_STAP,
    MC_ONLINE,
    N_SLAB_HEAD,
    N_SLAB_PAGES,
    SC_CONCURRENT,
    SC_GFP,
    SC_PRIORITY,
    SC_SLAB_NS,
    SC_SLAB_PAGES,
    SH_BATCH,
    SH_EMPTY,
    SH_FLAGS,
    SH_FREE_PPM,
    SH_FREED_REM,
    SH_ID,
    SH_NAME,
    SH_OBJS_PER_PAGE,
    SH_PTR,
    SH_SEEKS,
    SHRINK_BATCH,
    SHRINK_EMPTY,
    SHRINKER_MEMCG_AWARE,
    SHRINKER_NONSLAB,
    SHRINKER_NUMA_AWARE,
    VM_SLABS_SCANNED,
)
from .trace import trace_mm_shrink_slab_end, trace_mm_shrink_slab_start


@jit
def count_objects(st, i, memcg, nid):
    """The shrinker's count_objects for (memcg, node): list_lru users report SHRINK_EMPTY when the
    list is empty, deferred_split a plain 0 [SIM object model, spec §7.2]."""
    n = st.shr_objs[i, memcg, nid]
    if n == 0 and st.shr[i, SH_EMPTY]:
        return SHRINK_EMPTY
    return n


@jit
def release_slab_pages(st, s, i, nid, freed):
    """Objects freed -> whole slab pages back to the zone, counted in the scan_control
    (reclaim_state->reclaimed_slab)."""
    if st.shr[i, SH_FLAGS] & SHRINKER_NONSLAB:
        return
    rem = st.shr[i, SH_FREED_REM] + freed
    opp = st.shr[i, SH_OBJS_PER_PAGE]
    pages = rem // opp
    st.shr[i, SH_FREED_REM] = rem % opp
    pages = min(pages, st.node[nid, N_SLAB_PAGES])
    for _ in range(pages):
        page = st.node[nid, N_SLAB_HEAD]
        st.node[nid, N_SLAB_HEAD] = st.pg_next[page]
        st.node[nid, N_SLAB_PAGES] -= 1
        free_unref_page(st, page)
    st.sc[s, SC_SLAB_PAGES] += pages


@jit
def scan_objects(st, i, memcg, nid, nr_to_scan):
    """Scan nr_to_scan objects; a fraction (free_ratio) of those present is freed."""
    present = min(nr_to_scan, st.shr_objs[i, memcg, nid])
    freed = present * st.shr[i, SH_FREE_PPM] // 1_000_000
    st.shr_objs[i, memcg, nid] -= freed
    return freed


@jit
def xchg_nr_deferred(st, i, memcg, nid):
    """Take and zero the deferred work: per (memcg, node) for a memcg-aware shrinker on 372/6.6
    (shrinker_info->nr_deferred), else the shrinker's own per-node counter."""
    if st.sw[SW_SHRINKER_DEFERRED] == DEFERRED_PER_MEMCG_NODE and st.shr[i, SH_FLAGS] & SHRINKER_MEMCG_AWARE:
        sid = st.shr[i, SH_ID]
        nr = st.mc_deferred[memcg, nid, sid]
        st.mc_deferred[memcg, nid, sid] = 0
        return nr
    nr = st.shr_deferred[i, nid]
    st.shr_deferred[i, nid] = 0
    return nr


@jit
def add_nr_deferred(st, i, memcg, nid, nr):
    if st.sw[SW_SHRINKER_DEFERRED] == DEFERRED_PER_MEMCG_NODE and st.shr[i, SH_FLAGS] & SHRINKER_MEMCG_AWARE:
        sid = st.shr[i, SH_ID]
        st.mc_deferred[memcg, nid, sid] += nr
        return st.mc_deferred[memcg, nid, sid]
    st.shr_deferred[i, nid] += nr
    return st.shr_deferred[i, nid]


@jit
def shrink_delta(freeable, priority, seeks):
    """(freeable >> priority) * 4 / seeks; 'new' kernels use freeable / 2 for seeks == 0."""
    if seeks == 0:
        return freeable // 2
    return (freeable >> priority) * 4 // seeks


@jit
def do_shrink_slab(st, s, i, memcg, nid):
    """One shrinker, one call (spec §7.2 a/b).  Returns objects freed, or 0 / SHRINK_EMPTY as
    count_objects said.  ``memcg`` and ``nid`` are where the objects are (0 = root lists, node 0 for a
    shrinker that is not NUMA-aware); the deferred counter of a non-NUMA-aware shrinker is node 0's."""
    flags = st.shr[i, SH_FLAGS]
    objs_nid = nid if flags & SHRINKER_NUMA_AWARE else 0
    objs_memcg = memcg if flags & SHRINKER_MEMCG_AWARE else 0
    tick(st, st.cost[C_COUNT])
    freeable = count_objects(st, i, objs_memcg, objs_nid)
    if freeable == 0 or freeable == SHRINK_EMPTY:
        return freeable
    priority = st.sc[s, SC_PRIORITY]
    nr = xchg_nr_deferred(st, i, objs_memcg, objs_nid)
    delta = shrink_delta(freeable, priority, st.shr[i, SH_SEEKS])
    old = st.sw[SW_SHRINK_SLAB_FORMULA] == SLAB_FORMULA_OLD
    if old:
        # 4.18.0-147 do_shrink_slab
        total_scan = nr + delta
        next_deferred = total_scan
        if delta < freeable // 4:
            total_scan = min(total_scan, freeable // 2)
        total_scan = min(total_scan, freeable * 2)
    else:
        # 4.18.0-372 / v6.6 do_shrink_slab (since 5.11: deferred work aged by priority)
        total_scan = min((nr >> priority) + delta, 2 * freeable)
        next_deferred = 0
    trace_mm_shrink_slab_start(st, st.shr[i, SH_NAME], st.shr[i, SH_PTR], nid, nr, st.sc[s, SC_GFP], freeable,
                               delta, total_scan, priority)
    batch = st.shr[i, SH_BATCH] if st.shr[i, SH_BATCH] > 0 else SHRINK_BATCH
    freed = 0
    scanned = 0
    while total_scan >= batch or total_scan >= freeable:
        n = min(batch, total_scan)
        ret = scan_objects(st, i, objs_memcg, objs_nid, n)
        freed += ret
        total_scan -= n
        scanned += n
        if n == 0:
            break
    if scanned:
        tick(st, st.cost[C_SHRINK_BASE] + st.cost[C_OBJ] * scanned)
        st.vmstat[nid, VM_SLABS_SCANNED] += scanned
    if freed:
        release_slab_pages(st, s, i, objs_nid, freed)
    if old:
        next_deferred = max(next_deferred - scanned, 0)
        end_nid = objs_nid  # 147 prints the node it deferred on
    else:
        next_deferred = min(max(nr + delta - scanned, 0), 2 * freeable)
        end_nid = nid
    new_nr = add_nr_deferred(st, i, objs_memcg, objs_nid, next_deferred)
    trace_mm_shrink_slab_end(st, st.shr[i, SH_NAME], st.shr[i, SH_PTR], end_nid, freed, nr, new_nr, total_scan)
    return freed


@jit
def set_bit(st, memcg, nid, b):
    st.mc_map[memcg, nid, b >> 6] |= 1 << (b & 63)


@jit
def clear_bit(st, memcg, nid, b):
    st.mc_map[memcg, nid, b >> 6] &= ~(1 << (b & 63))
    tick(st, st.cost[C_BIT_CLEAR])


@jit
def shrink_slab_memcg(st, s, nid, memcg):
    """The per-memcg bitmap walk (spec §7.3)."""
    kmem = st.sw[SW_KMEM] != 0
    nokmem = st.sw[SW_NOKMEM_SLAB]
    if not kmem and nokmem == NOKMEM_RETURN_EARLY:
        return  # 4.18.0-147: !memcg_kmem_enabled() -> return 0
    if not st.mc[memcg, MC_ONLINE]:
        return
    tick(st, st.cost[C_SLAB_ENTRY] + st.cost[C_SLAB_ENTRY_CONTENTION] * max(st.sc[s, SC_CONCURRENT] - 1, 0))
    nr_max = st.g[G_SHRINKER_NR_MAX]
    for w in range((nr_max + 63) >> 6):
        word = st.mc_map[memcg, nid, w]
        while word != 0:
            b = (w << 6) + trailing_zeros(word)
            word &= word - 1
            if b >= nr_max:
                break
            tick(st, st.cost[C_BIT])
            i = st.shr_idr[b]
            if i < 0:
                clear_bit(st, memcg, nid, b)  # the shrinker is gone
                continue
            if not kmem and not (st.shr[i, SH_FLAGS] & SHRINKER_NONSLAB):
                if nokmem == NOKMEM_WALK_SKIP_CLEAR_BIT:
                    clear_bit(st, memcg, nid, b)  # the 372 fix
                continue  # 4.18.0-372, v6.6: skipped, the bit stays set
            if do_shrink_slab(st, s, i, memcg, nid) == SHRINK_EMPTY:
                clear_bit(st, memcg, nid, b)
                if do_shrink_slab(st, s, i, memcg, nid) != SHRINK_EMPTY:
                    set_bit(st, memcg, nid, b)


@jit
def shrink_slab_root(st, s, nid):
    """The root memcg (global reclaim): every registered shrinker in registration order, memcg-aware
    ones on the root's lists."""
    for k in range(st.g[G_NR_SHRINKERS]):
        do_shrink_slab(st, s, st.shr_list[k], 0, nid)


@jit
def shrink_slab(st, s, nid, memcg):
    """Returns the slab pages freed (credited to nr_reclaimed by the caller, as reclaim_state)."""
    start = st.g[G_NOW]
    pages = st.sc[s, SC_SLAB_PAGES]
    tick(st, st.cost[C_SLAB_CALL])
    if st.g[G_STAP]:
        tick(st, st.cost[C_PROBE])
    if memcg != 0:
        shrink_slab_memcg(st, s, nid, memcg)
    else:
        shrink_slab_root(st, s, nid)
    st.sc[s, SC_SLAB_NS] += st.g[G_NOW] - start
    return st.sc[s, SC_SLAB_PAGES] - pages
