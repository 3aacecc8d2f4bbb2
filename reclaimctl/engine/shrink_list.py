"""Page-level reclaim of one LRU batch (mm/vmscan.c, spec §6): isolate_lru_pages,
shrink_active_list, shrink_inactive_list and the per-page decisions of shrink_page_list.

``s`` is the scan_control row (0 direct/memcg reclaim, 1 + nid kswapd).  Isolated pages sit in
``st.iso[s, :n]`` (at most SWAP_CLUSTER_MAX) while a batch is processed.
"""

from __future__ import annotations

from .jit import jit, jit_inline
from .mm_inline import add_page_to_lru_list, del_page_from_lru_list, page_is_file_lru, page_lru
from .page_alloc import free_unref_page
from .page_counter import memsw_uncharge, page_counter_uncharge
from .params import (
    BALANCE_RECENT_SCANNED_ROTATED,
    C_ADD_TO_SWAP,
    C_FREE,
    C_ISOLATE,
    C_LIST_CALL,
    C_PUTBACK,
    C_REF_UNMAPPED,
    C_RMAP_BASE,
    C_RMAP_PER_MAP,
    C_SPL,
    C_TLB_FLUSH,
    C_UNMAP_PER_MAP,
    C_WRITEPAGE,
    CONGESTED_DIRTY_OR_WB,
    LRU_COST_IO32_ROTATED,
    REF_ANON_ACTIVATE,
    SW_BALANCE_INPUT,
    SW_DOUBLE_SCAN_MAPPED,
    SW_KSWAPD_FILE_WRITEPAGE,
    SW_LRU_COST,
    SW_NR_CONGESTED,
    SW_REFERENCED_ANON_ON_INACTIVE,
    SW_WORKINGSET,
    WORKINGSET_FILE_ONLY,
)
from .state import (
    G_CGROUP_V2,
    G_CTX_CPU,
    G_IO_HEAD,
    G_IO_TAIL,
    G_NOW,
    G_NR_NODES,
    IN_ISOLATED,
    LRU_ACTIVE_ANON,
    LRU_UNEVICTABLE,
    LV_RECENT_ROTATED,
    LV_RECENT_SCANNED,
    N_FLAGS,
    N_ISOLATED_ANON,
    N_NR_LRU,
    NO_PAGE,
    PG_ACTIVE,
    PG_ANON,
    PG_DIRTY,
    PG_EXEC,
    PG_LRU,
    PG_MLOCKED,
    PG_RECLAIM,
    PG_REFERENCED,
    PG_SWAPBACKED,
    PG_SWAPCACHE,
    PG_UNEVICTABLE,
    PG_WORKINGSET,
    PG_WRITEBACK,
    PG_YOUNG,
    PGDAT_DIRTY,
    PGDAT_WRITEBACK,
    SC_KSWAPD,
    SC_MAY_ENTER_FS,
    SC_MAY_WRITEPAGE,
    SC_NODE,
    SC_NR_CONGESTED,
    SC_NR_DIRTY,
    SC_NR_FILE_TAKEN,
    SC_NR_IMMEDIATE,
    SC_NR_SCANNED,
    SC_NR_TAKEN,
    SC_NR_UNQUEUED_DIRTY,
    SC_NR_WRITEBACK,
    SC_ORDER,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SC_TARGET,
    SCR_STAT,
    SWAPPED,
    VM_NR_VMSCAN_IMMEDIATE,
    VM_NR_VMSCAN_WRITE,
    VM_PGACTIVATE,
    VM_PGDEACTIVATE,
    VM_PGREFILL,
    VM_PGSCAN_ANON,
    VM_PGSCAN_DIRECT,
    VM_PGSCAN_KSWAPD,
    VM_PGSTEAL_ANON,
    VM_PGSTEAL_DIRECT,
    VM_PGSTEAL_KSWAPD,
    VM_PSWPOUT,
    Z_IDX,
    Z_PFN_OFFSET,
)
from .swap import lru_add_drain_cpu, lru_note_cost, workingset_age_nonresident
from .swapfile import add_to_swap, try_to_free_swap, vm_swap_full
from .trace import (
    trace_mm_vmscan_lru_isolate,
    trace_mm_vmscan_lru_shrink_active,
    trace_mm_vmscan_lru_shrink_inactive,
    trace_mm_vmscan_writepage,
)
from .workingset import workingset_eviction
from .writeback import (
    IO_FILE,
    IO_SWAP,
    clear_page_dirty,
    complete_io,
    submit_write,
    wakeup_flusher_threads,
)

# page_check_references results
PAGEREF_RECLAIM, PAGEREF_RECLAIM_CLEAN, PAGEREF_KEEP, PAGEREF_ACTIVATE = 0, 1, 2, 3
# shrink_page_list stat slots (the first ten are the tracepoint's, in its order)
ST_SCANNED, ST_RECLAIMED, ST_DIRTY, ST_WRITEBACK, ST_CONGESTED, ST_IMMEDIATE = 0, 1, 2, 3, 4, 5
ST_ACTIVATE_ANON, ST_ACTIVATE_FILE, ST_REF_KEEP, ST_UNMAP_FAIL, ST_UNQUEUED_DIRTY, ST_PAGEOUT = 6, 7, 8, 9, 10, 11
ST_N = 12


@jit_inline
def tick(st, ns):
    st.g[G_NOW] += int(ns)


@jit
def cgroup_reclaim(st, s):
    return st.sc[s, SC_TARGET] >= 0


@jit
def writeback_throttling_sane(st, s):
    """Global reclaim, or cgroup reclaim on cgroup v2 (the v1 "legacy memcg" lacks dirty throttling)."""
    return not cgroup_reclaim(st, s) or st.g[G_CGROUP_V2] != 0


@jit
def mem_cgroup_uncharge(st, page):
    """A reclaimed page leaves its memcg.  A swapped-out page's memsw charge stays with its swap
    entry (v1 mem_cgroup_swapout), until the entry is freed."""
    memcg = st.pg_lv[page] // st.g[G_NR_NODES]
    page_counter_uncharge(st, memcg, 1)
    if not (st.pg_flags[page] & PG_SWAPCACHE):
        memsw_uncharge(st, memcg, 1)


# ---------------------------------------------------------------- isolation


@jit
def isolate_lru_pages(st, s, nr_to_scan, lv, lru):
    """Take up to nr_to_scan pages off the tail of the list into st.iso[s]; returns (taken,
    total_scan).  Pages of zones above reclaim_idx are skipped and go back to the head (spec §6.1)."""
    lst = lv * 5 + lru
    reclaim_idx = st.sc[s, SC_RECLAIM_IDX]
    limit_taken = st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED  # P147 also stops at nr_taken
    scan = 0
    total_scan = 0
    taken = 0
    nr_skipped = 0
    first_skipped = -1
    page = st.lru_tail[lst]
    while scan < nr_to_scan and page >= 0 and page != first_skipped and not (limit_taken and taken >= nr_to_scan):
        prev = st.pg_prev[page]
        total_scan += 1
        del_page_from_lru_list(st, page, lv, lru)
        if st.zone[st.pg_zone[page], Z_IDX] > reclaim_idx:
            # a zone the caller cannot use: back to the head (the kernel splices them there at the end)
            add_page_to_lru_list(st, page, lv, lru)
            nr_skipped += 1
            if first_skipped < 0:
                first_skipped = page
            page = prev
            continue
        scan += 1
        st.pg_flags[page] &= ~PG_LRU
        st.pg_lru[page] = IN_ISOLATED
        st.iso[s, taken] = page
        taken += 1
        page = prev
    tick(st, st.cost[C_ISOLATE] * total_scan)
    trace_mm_vmscan_lru_isolate(st, reclaim_idx, st.sc[s, SC_ORDER], nr_to_scan, total_scan, nr_skipped, taken, lru)
    return taken, total_scan


@jit
def too_many_isolated(st, s, nid, file):
    """Direct (sane) reclaim backs off when isolated pages outnumber the inactive list / 8."""
    if st.sc[s, SC_KSWAPD] or not writeback_throttling_sane(st, s):
        return False
    inactive = st.node[nid, N_NR_LRU + file * 2]
    isolated = st.node[nid, N_ISOLATED_ANON + file]
    return isolated > inactive // 8


# ---------------------------------------------------------------- references and unmap


@jit
def page_referenced(st, page):
    """Young PTEs found (and cleared) by the rmap walk; 0 for an unmapped page."""
    mapcount = st.pg_map[page]
    if mapcount <= 0:
        tick(st, st.cost[C_REF_UNMAPPED])
        return 0
    tick(st, st.cost[C_RMAP_BASE] + st.cost[C_RMAP_PER_MAP] * mapcount)
    if st.pg_flags[page] & PG_YOUNG:
        st.pg_flags[page] &= ~PG_YOUNG
        return 1
    return 0


@jit
def page_check_references(st, page):
    referenced_ptes = page_referenced(st, page)
    flags = st.pg_flags[page]
    referenced_page = (flags & PG_REFERENCED) != 0
    st.pg_flags[page] &= ~PG_REFERENCED
    swapbacked = (flags & PG_SWAPBACKED) != 0
    if referenced_ptes:
        if swapbacked and st.sw[SW_REFERENCED_ANON_ON_INACTIVE] == REF_ANON_ACTIVATE:
            return PAGEREF_ACTIVATE  # 4.18: referenced anon pages are activated at once
        st.pg_flags[page] |= PG_REFERENCED
        if referenced_page or referenced_ptes > 1:
            return PAGEREF_ACTIVATE
        if (flags & PG_EXEC) and not swapbacked:
            return PAGEREF_ACTIVATE
        return PAGEREF_KEEP
    if referenced_page and not swapbacked:
        return PAGEREF_RECLAIM_CLEAN
    return PAGEREF_RECLAIM


@jit
def try_to_unmap(st, page):
    """Unmap from every mapping; the PTEs of an anon page become swap entries."""
    tick(st, st.cost[C_UNMAP_PER_MAP] * st.pg_map[page])
    st.pg_map[page] = 0
    return True


@jit
def page_pfn(st, page):
    return page + st.zone[st.pg_zone[page], Z_PFN_OFFSET]


@jit
def wait_on_page_writeback(st, page):
    """Sleep until the page's IO completes (v1 memcg reclaim meeting its own PG_reclaim page)."""
    cap = st.io_page.shape[1]
    for ring in range(2):
        i = st.g[G_IO_HEAD + ring]
        while i != st.g[G_IO_TAIL + ring]:
            if st.io_page[ring, i] == page:
                if st.io_time[ring, i] > st.g[G_NOW]:
                    st.g[G_NOW] = st.io_time[ring, i]
                complete_io(st, st.g[G_NOW])
                return
            i = (i + 1) % cap


@jit
def remove_mapping(st, s, page):
    """__remove_mapping: the page leaves the page cache or swap cache, leaving a shadow entry."""
    key = st.pg_key[page]
    if key < 0:
        return  # its owner already let go of it (unmapped or truncated while under writeback)
    shadow = workingset_eviction(st, page, st.sc[s, SC_TARGET])
    if st.pg_flags[page] & PG_ANON:
        # swap cache: the slot keeps the data and stays allocated; the id is now swapped out
        st.anon_map[key] = SWAPPED
        st.anon_shadow[key] = shadow if st.sw[SW_WORKINGSET] != WORKINGSET_FILE_ONLY else 0
    else:
        st.file_map[key] = NO_PAGE
        st.file_shadow[key] = shadow


# ---------------------------------------------------------------- shrink_page_list


@jit
def shrink_page_list(st, s, n, stat):
    """Decide the fate of the isolated pages st.iso[s, :n]; survivors are compacted to the front of
    st.iso[s] and their count returned (stat[ST_RECLAIMED] holds the freed)."""
    kswapd = st.sc[s, SC_KSWAPD] != 0
    nid = st.sc[s, SC_NODE]
    node_flags = st.node[nid, N_FLAGS]
    may_enter_fs = st.sc[s, SC_MAY_ENTER_FS] != 0
    sane = writeback_throttling_sane(st, s)
    keep = 0
    unmapped_any = False
    i = 0
    while i < n:
        page = st.iso[s, i]
        i += 1
        tick(st, st.cost[C_SPL])
        st.sc[s, SC_NR_SCANNED] += 1
        flags = st.pg_flags[page]
        file = (flags & PG_ANON) == 0
        outcome = 0  # 0 free, 1 keep, 2 activate
        ref = PAGEREF_RECLAIM
        if flags & PG_UNEVICTABLE:
            outcome = 2
        else:
            if st.sw[SW_DOUBLE_SCAN_MAPPED] and (st.pg_map[page] > 0 or (flags & PG_SWAPCACHE)):
                st.sc[s, SC_NR_SCANNED] += 1
            # dirty / writeback state of file pages (anon reports clean)
            if file:
                dirty = (flags & PG_DIRTY) != 0
                writeback = (flags & PG_WRITEBACK) != 0
                if dirty or writeback:
                    stat[ST_DIRTY] += 1
                if dirty and not writeback:
                    stat[ST_UNQUEUED_DIRTY] += 1
                if st.sw[SW_NR_CONGESTED] == CONGESTED_DIRTY_OR_WB:
                    if writeback and (flags & PG_RECLAIM):
                        stat[ST_CONGESTED] += 1
                elif writeback and (flags & PG_RECLAIM):
                    stat[ST_CONGESTED] += 1
            if flags & PG_WRITEBACK:
                if kswapd and (flags & PG_RECLAIM) and (node_flags & PGDAT_WRITEBACK):
                    stat[ST_IMMEDIATE] += 1
                    outcome = 2
                elif sane or not (flags & PG_RECLAIM) or not may_enter_fs:
                    st.pg_flags[page] |= PG_RECLAIM
                    stat[ST_WRITEBACK] += 1
                    outcome = 2
                else:
                    # legacy memcg: wait for this page's IO, then look at it again
                    wait_on_page_writeback(st, page)
                    i -= 1
                    continue
            if outcome == 0:
                ref = page_check_references(st, page)
                if ref == PAGEREF_ACTIVATE:
                    outcome = 2
                elif ref == PAGEREF_KEEP:
                    stat[ST_REF_KEEP] += 1
                    outcome = 1
            if outcome == 0 and not file and (st.pg_flags[page] & PG_SWAPBACKED) \
                    and not (st.pg_flags[page] & PG_SWAPCACHE):
                tick(st, st.cost[C_ADD_TO_SWAP])
                if not add_to_swap(st, page):
                    outcome = 2
            if outcome == 0 and st.pg_map[page] > 0:
                try_to_unmap(st, page)
                unmapped_any = True
            if outcome == 0 and (st.pg_flags[page] & PG_DIRTY):
                if file and (not kswapd or not (st.pg_flags[page] & PG_RECLAIM) or not (node_flags & PGDAT_DIRTY)):
                    st.vmstat[nid, VM_NR_VMSCAN_IMMEDIATE] += 1
                    st.pg_flags[page] |= PG_RECLAIM
                    outcome = 2
                elif ref == PAGEREF_RECLAIM_CLEAN or not may_enter_fs or not st.sc[s, SC_MAY_WRITEPAGE]:
                    outcome = 1
                elif file and not st.sw[SW_KSWAPD_FILE_WRITEPAGE]:
                    outcome = 2  # no ->writepage (6.6 ext4/xfs): pageout says PAGE_ACTIVATE
                else:
                    # pageout(): clear dirty, mark for reclaim, submit, trace
                    clear_page_dirty(st, page)
                    st.pg_flags[page] |= PG_RECLAIM
                    tick(st, st.cost[C_WRITEPAGE])
                    submit_write(st, IO_FILE if file else IO_SWAP, page)
                    trace_mm_vmscan_writepage(st, page_pfn(st, page), 1 if file else 0)
                    st.vmstat[nid, VM_NR_VMSCAN_WRITE] += 1
                    if not file:
                        st.vmstat[nid, VM_PSWPOUT] += 1
                    stat[ST_PAGEOUT] += 1
                    outcome = 1
        if outcome == 0:
            # __remove_mapping and free
            tick(st, st.cost[C_FREE])
            remove_mapping(st, s, page)
            mem_cgroup_uncharge(st, page)
            st.node[nid, N_ISOLATED_ANON + (1 if file else 0)] -= 1
            free_unref_page(st, page)
            stat[ST_RECLAIMED] += 1
            continue
        if outcome == 2:
            if (st.pg_flags[page] & PG_SWAPCACHE) and (vm_swap_full(st) or (st.pg_flags[page] & PG_MLOCKED)):
                try_to_free_swap(st, page)
            if not (st.pg_flags[page] & PG_MLOCKED):
                st.pg_flags[page] |= PG_ACTIVE
                stat[ST_ACTIVATE_FILE if file else ST_ACTIVATE_ANON] += 1
                st.vmstat[nid, VM_PGACTIVATE] += 1
        st.iso[s, keep] = page
        keep += 1
    if unmapped_any:
        tick(st, st.cost[C_TLB_FLUSH])
    return keep


@jit
def move_pages_to_lru(st, s, n, lv):
    """Put the survivors st.iso[s, :n] back at the head of the list their flags choose; returns how
    many went to an active list."""
    nr_active = 0
    for i in range(n):
        page = st.iso[s, i]
        lru = page_lru(st, page)
        st.pg_flags[page] |= PG_LRU
        add_page_to_lru_list(st, page, lv, lru)
        if lru != LRU_UNEVICTABLE and lru % 2 == 1:
            nr_active += 1
    tick(st, st.cost[C_PUTBACK] * n)
    return nr_active


# ---------------------------------------------------------------- the two list shrinkers


@jit
def shrink_inactive_list(st, s, nr_to_scan, lv, lru):
    """Returns the pages reclaimed (spec §6.3)."""
    file = 1 if lru >= 2 else 0
    nid = st.sc[s, SC_NODE]
    tick(st, st.cost[C_LIST_CALL])
    if too_many_isolated(st, s, nid, file):
        return 0
    lru_add_drain_cpu(st, st.g[G_CTX_CPU])
    taken, nr_scanned = isolate_lru_pages(st, s, nr_to_scan, lv, lru)
    st.node[nid, N_ISOLATED_ANON + file] += taken
    kswapd = st.sc[s, SC_KSWAPD] != 0
    memcg = lv // st.g[G_NR_NODES]
    item = VM_PGSCAN_KSWAPD if kswapd else VM_PGSCAN_DIRECT
    if not cgroup_reclaim(st, s):
        st.vmstat[nid, item] += nr_scanned
    st.mcstat[memcg, item] += nr_scanned
    st.vmstat[nid, VM_PGSCAN_ANON + file] += nr_scanned
    if st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED:
        st.lv[lv, LV_RECENT_SCANNED + file] += taken
    if taken == 0:
        return 0
    stat = st.scratch[s, SCR_STAT:SCR_STAT + ST_N]
    stat[:] = 0
    keep = shrink_page_list(st, s, taken, stat)
    nr_reclaimed = stat[ST_RECLAIMED]
    nr_active = move_pages_to_lru(st, s, keep, lv)
    st.node[nid, N_ISOLATED_ANON + file] -= keep
    if st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED:
        st.lv[lv, LV_RECENT_ROTATED + file] += nr_active
    elif nr_active and st.sw[SW_WORKINGSET] != WORKINGSET_FILE_ONLY:
        workingset_age_nonresident(st, lv, nr_active)
    item = VM_PGSTEAL_KSWAPD if kswapd else VM_PGSTEAL_DIRECT
    if not cgroup_reclaim(st, s):
        st.vmstat[nid, item] += nr_reclaimed
    st.mcstat[memcg, item] += nr_reclaimed
    st.vmstat[nid, VM_PGSTEAL_ANON + file] += nr_reclaimed
    if st.sw[SW_LRU_COST] == LRU_COST_IO32_ROTATED:
        lru_note_cost(st, lv, file, stat[ST_PAGEOUT], nr_scanned - nr_reclaimed)
    else:
        lru_note_cost(st, lv, file, stat[ST_PAGEOUT], 0)
    if stat[ST_UNQUEUED_DIRTY] == taken:
        wakeup_flusher_threads(st)
    st.sc[s, SC_NR_DIRTY] += stat[ST_DIRTY]
    st.sc[s, SC_NR_CONGESTED] += stat[ST_CONGESTED]
    st.sc[s, SC_NR_UNQUEUED_DIRTY] += stat[ST_UNQUEUED_DIRTY]
    st.sc[s, SC_NR_WRITEBACK] += stat[ST_WRITEBACK]
    st.sc[s, SC_NR_IMMEDIATE] += stat[ST_IMMEDIATE]
    st.sc[s, SC_NR_TAKEN] += taken
    if file:
        st.sc[s, SC_NR_FILE_TAKEN] += taken
    stat[ST_SCANNED] = nr_scanned
    trace_mm_vmscan_lru_shrink_inactive(st, nid, stat, st.sc[s, SC_PRIORITY], file)
    return nr_reclaimed


@jit
def shrink_active_list(st, s, nr_to_scan, lv, lru):
    """Deactivate up to nr_to_scan pages of an active list (spec §6.2)."""
    file = 1 if lru >= 2 else 0
    nid = st.sc[s, SC_NODE]
    tick(st, st.cost[C_LIST_CALL])
    lru_add_drain_cpu(st, st.g[G_CTX_CPU])
    taken, nr_scanned = isolate_lru_pages(st, s, nr_to_scan, lv, lru)
    st.vmstat[nid, VM_PGREFILL] += nr_scanned
    st.mcstat[lv // st.g[G_NR_NODES], VM_PGREFILL] += nr_scanned
    p147 = st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED
    if p147:
        st.lv[lv, LV_RECENT_SCANNED + file] += taken
    nr_rotated = 0
    nr_activate = 0
    nr_deactivate = 0
    for i in range(taken):
        page = st.iso[s, i]
        if st.pg_flags[page] & PG_UNEVICTABLE:
            st.pg_flags[page] |= PG_LRU
            add_page_to_lru_list(st, page, lv, LRU_UNEVICTABLE)
            continue
        if page_referenced(st, page):
            if p147:
                nr_rotated += 1
            if page_is_file_lru(st, page) and (st.pg_flags[page] & PG_EXEC):
                if not p147:
                    nr_rotated += 1
                st.pg_flags[page] |= PG_LRU
                add_page_to_lru_list(st, page, lv, lru)
                nr_activate += 1
                continue
        st.pg_flags[page] &= ~PG_ACTIVE
        st.pg_flags[page] |= PG_WORKINGSET | PG_LRU
        add_page_to_lru_list(st, page, lv, lru - LRU_ACTIVE_ANON)
        nr_deactivate += 1
    tick(st, st.cost[C_PUTBACK] * taken)
    st.vmstat[nid, VM_PGDEACTIVATE] += nr_deactivate
    st.mcstat[lv // st.g[G_NR_NODES], VM_PGDEACTIVATE] += nr_deactivate
    if p147:
        st.lv[lv, LV_RECENT_ROTATED + file] += nr_rotated
    else:
        if nr_activate:
            workingset_age_nonresident(st, lv, nr_activate)
        if st.sw[SW_LRU_COST] == LRU_COST_IO32_ROTATED and nr_rotated:
            lru_note_cost(st, lv, file, 0, nr_rotated)
    trace_mm_vmscan_lru_shrink_active(st, nid, taken, nr_activate, nr_deactivate, nr_rotated,
                                      st.sc[s, SC_PRIORITY], file)
    return nr_deactivate
