"""How much of each list to scan, and the scan loop of one lruvec (mm/vmscan.c, spec §4-5):
inactive_list_is_low / inactive_is_low, get_scan_count, shrink_list, shrink_lruvec."""

from __future__ import annotations

import numpy as np

from .jit import jit
from .mm_inline import lruvec_lru_size
from .params import (
    BALANCE_RECENT_SCANNED_ROTATED,
    CHECK_INACTIVE_LIST_IS_LOW,
    CUT_ADJUST_THEN_FINISH,
    SW_BALANCE_INPUT,
    SW_INACTIVE_CHECK,
    SW_MEMORY_LOW_SCALING,
    SW_PROPORTIONAL_CUT,
)
from .shrink_list import cgroup_reclaim, shrink_active_list, shrink_inactive_list
from .state import (
    DEACTIVATE_ANON,
    DEACTIVATE_FILE,
    DEF_PRIORITY,
    G_CGROUP_V2,
    G_NR_NODES,
    G_PAGE_SHIFT,
    G_SWAP_TOTAL,
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
    LV_REFAULTS,
    LV_WS_ACTIVATE,
    MAX_ZONES,
    MC_ELOW,
    MC_EMIN,
    MC_ONLINE,
    MC_PARENT,
    MC_POS,
    MC_SUBTREE_END,
    MC_SWAPPINESS,
    MC_USAGE,
    N_NR_LRU,
    N_ZONE0,
    N_ZONES,
    SC_ANON_COST,
    SC_CACHE_TRIM_MODE,
    SC_FILE_COST,
    SC_FILE_IS_TINY,
    SC_FORCE_DEACTIVATE,
    SC_KSWAPD,
    SC_MAY_DEACTIVATE,
    SC_MAY_SWAP,
    SC_MEMCG_LOW_RECLAIM,
    SC_MEMCG_LOW_SKIPPED,
    SC_NODE,
    SC_NR_RECLAIMED,
    SC_NR_TO_RECLAIM,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SC_SKIPPED_DEACTIVATE,
    SCR_NR,
    SCR_TARGETS,
    SWAP_CLUSTER_MAX,
    Z_FREE,
    Z_WMARK_HIGH,
)
from .swapfile import get_nr_swap_pages
from .trace import trace_mm_vmscan_inactive_list_is_low

SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE = 0, 1, 2, 3


@jit
def int_sqrt(x):
    r = np.int64(np.sqrt(np.float64(x)))
    while r * r > x:
        r -= 1
    while (r + 1) * (r + 1) <= x:
        r += 1
    return r


@jit
def inactive_ratio(lru_pages, page_shift):
    """int_sqrt(10 x GiB) of the type's LRU size, 1 below a GiB (spec §5.3)."""
    gb = lru_pages >> (30 - page_shift)
    return int_sqrt(10 * gb) if gb else 1


@jit
def lruvec_page_state(st, lv, lru):
    """Pages on a list of this lruvec and of its descendants' lruvecs on the same node (5.x
    lruvec_page_state is hierarchical; for a leaf memcg it is its own count)."""
    nn = st.g[G_NR_NODES]
    memcg = lv // nn
    node = lv % nn
    lo = st.mc[memcg, MC_POS]
    hi = st.mc[memcg, MC_SUBTREE_END]
    if hi - lo <= 1:
        return st.lv[lv, LV_NR + lru]
    total = 0
    for p in range(lo, hi):
        total += st.lv[st.mc_order[p] * nn + node, LV_NR + lru]
    return total


@jit
def mem_cgroup_swappiness(st, memcg):
    """v1: the memcg's own value (root: vm.swappiness); v2: vm.swappiness everywhere."""
    if st.g[G_CGROUP_V2] or st.mc[memcg, MC_PARENT] < 0:
        return st.g[G_SWAPPINESS]
    return st.mc[memcg, MC_SWAPPINESS]


@jit
def inactive_list_is_low(st, s, lv, file, actual_reclaim):
    """P147 (4.18): the refault reset makes the file ratio 0; traced when actual_reclaim."""
    if not file and st.g[G_SWAP_TOTAL] == 0:
        return False
    inactive_lru = LRU_INACTIVE_FILE if file else LRU_INACTIVE_ANON
    total_inactive = st.lv[lv, LV_NR + inactive_lru]
    total_active = st.lv[lv, LV_NR + inactive_lru + 1]
    reclaim_idx = st.sc[s, SC_RECLAIM_IDX]
    inactive = lruvec_lru_size(st, lv, inactive_lru, min(reclaim_idx, MAX_ZONES - 1))
    active = lruvec_lru_size(st, lv, inactive_lru + 1, min(reclaim_idx, MAX_ZONES - 1))
    refaults = st.lv[lv, LV_WS_ACTIVATE + 1]
    if file and actual_reclaim and st.lv[lv, LV_REFAULTS + 1] != refaults:
        ratio = 0
    else:
        ratio = inactive_ratio(inactive + active, st.g[G_PAGE_SHIFT])
    if actual_reclaim:
        trace_mm_vmscan_inactive_list_is_low(st, st.sc[s, SC_NODE], reclaim_idx, total_inactive, inactive,
                                             total_active, active, ratio, 1 if file else 0)
    return inactive * ratio < active


@jit
def inactive_is_low(st, lv, inactive_lru):
    """P372/P66: whole-lruvec (hierarchical) sizes, no refault term, no tracepoint."""
    inactive = lruvec_page_state(st, lv, inactive_lru)
    active = lruvec_page_state(st, lv, inactive_lru + 1)
    ratio = inactive_ratio(inactive + active, st.g[G_PAGE_SHIFT])
    return inactive * ratio < active


@jit
def node_file_and_free(st, nid):
    """(node file LRU + free pages, sum of the node's HIGH watermarks): the "file is tiny" test."""
    total = st.node[nid, N_NR_LRU + LRU_INACTIVE_FILE] + st.node[nid, N_NR_LRU + LRU_ACTIVE_FILE]
    high = 0
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        total += st.zone[z, Z_FREE]
        high += st.zone[z, Z_WMARK_HIGH]
    return total, high


@jit
def get_scan_count(st, s, lv, nr):
    """Fill nr[0..3] with the pages to scan of each evictable list (spec §4).  Returns the balance
    mode (SCAN_EQUAL/FRACT/ANON/FILE)."""
    nn = st.g[G_NR_NODES]
    memcg = lv // nn
    nid = lv % nn
    priority = st.sc[s, SC_PRIORITY]
    reclaim_idx = min(st.sc[s, SC_RECLAIM_IDX], MAX_ZONES - 1)
    swappiness = mem_cgroup_swappiness(st, memcg)
    p147 = st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED
    fraction0 = 0
    fraction1 = 0
    denominator = 1
    if not st.sc[s, SC_MAY_SWAP] or get_nr_swap_pages(st) <= 0 or cgroup_reclaim(st, s) and swappiness == 0:
        balance = SCAN_FILE
    elif priority == 0 and swappiness:
        balance = SCAN_EQUAL
    else:
        balance = SCAN_FRACT
        if p147:
            if not cgroup_reclaim(st, s):
                filefree, high = node_file_and_free(st, nid)
                if filefree <= high and not inactive_list_is_low(st, s, lv, False, False) \
                        and lruvec_lru_size(st, lv, LRU_INACTIVE_ANON, reclaim_idx) >> priority:
                    balance = SCAN_ANON
            if balance == SCAN_FRACT and not inactive_list_is_low(st, s, lv, True, False) \
                    and lruvec_lru_size(st, lv, LRU_INACTIVE_FILE, reclaim_idx) >> priority:
                balance = SCAN_FILE
        else:
            if st.sc[s, SC_FILE_IS_TINY]:
                balance = SCAN_ANON
            elif st.sc[s, SC_CACHE_TRIM_MODE]:
                balance = SCAN_FILE
        if balance == SCAN_FRACT:
            anon_prio = swappiness
            file_prio = 200 - swappiness
            if p147:
                anon = st.lv[lv, LV_NR + LRU_INACTIVE_ANON] + st.lv[lv, LV_NR + LRU_ACTIVE_ANON]
                file = st.lv[lv, LV_NR + LRU_INACTIVE_FILE] + st.lv[lv, LV_NR + LRU_ACTIVE_FILE]
                if st.lv[lv, LV_RECENT_SCANNED] > anon // 4:
                    st.lv[lv, LV_RECENT_SCANNED] //= 2
                    st.lv[lv, LV_RECENT_ROTATED] //= 2
                if st.lv[lv, LV_RECENT_SCANNED + 1] > file // 4:
                    st.lv[lv, LV_RECENT_SCANNED + 1] //= 2
                    st.lv[lv, LV_RECENT_ROTATED + 1] //= 2
                ap = anon_prio * (st.lv[lv, LV_RECENT_SCANNED] + 1) // (st.lv[lv, LV_RECENT_ROTATED] + 1)
                fp = file_prio * (st.lv[lv, LV_RECENT_SCANNED + 1] + 1) // (st.lv[lv, LV_RECENT_ROTATED + 1] + 1)
                fraction0, fraction1, denominator = ap, fp, ap + fp + 1
            else:
                total_cost = st.sc[s, SC_ANON_COST] + st.sc[s, SC_FILE_COST]
                anon_cost = total_cost + st.sc[s, SC_ANON_COST]
                file_cost = total_cost + st.sc[s, SC_FILE_COST]
                total_cost = anon_cost + file_cost
                ap = anon_prio * (total_cost + 1) // (anon_cost + 1)
                fp = file_prio * (total_cost + 1) // (file_cost + 1)
                fraction0, fraction1, denominator = ap, fp, ap + fp
    online = st.mc[memcg, MC_ONLINE] != 0
    emin = st.mc[memcg, MC_EMIN]
    elow = st.mc[memcg, MC_ELOW]
    scaling = st.sw[SW_MEMORY_LOW_SCALING] != 0 and (emin or elow)
    for lru in range(4):
        file = lru >= 2
        size = lruvec_lru_size(st, lv, lru, reclaim_idx)
        if scaling:
            if not st.sc[s, SC_MEMCG_LOW_RECLAIM] and elow > emin:
                protection = elow
                st.sc[s, SC_MEMCG_LOW_SKIPPED] = 1
            else:
                protection = emin
            cgroup_size = max(st.mc[memcg, MC_USAGE], protection)
            scan = size - size * protection // (cgroup_size + 1)
            scan = max(scan, SWAP_CLUSTER_MAX)
        else:
            scan = size
        scan >>= priority
        if scan == 0 and not online:
            scan = min(size, SWAP_CLUSTER_MAX)
        if balance == SCAN_FRACT:
            frac = fraction1 if file else fraction0
            if p147 or not online:
                scan = (scan * frac + denominator - 1) // denominator
            else:
                scan = scan * frac // denominator
        elif balance == SCAN_FILE:
            if not file:
                scan = 0
        elif balance == SCAN_ANON:
            if file:
                scan = 0
        nr[lru] = scan
    return balance


@jit
def shrink_list(st, s, lru, nr_to_scan, lv):
    if lru % 2 == 1:  # active list
        file = lru == LRU_ACTIVE_FILE
        if st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW:
            if inactive_list_is_low(st, s, lv, file, True):
                shrink_active_list(st, s, nr_to_scan, lv, lru)
        elif st.sc[s, SC_MAY_DEACTIVATE] & (1 << (1 if file else 0)):
            shrink_active_list(st, s, nr_to_scan, lv, lru)
        else:
            st.sc[s, SC_SKIPPED_DEACTIVATE] = 1
        return 0
    return shrink_inactive_list(st, s, nr_to_scan, lv, lru)


@jit
def shrink_lruvec(st, s, lv):
    """The scan loop of one (memcg, node) lruvec (spec §5.1)."""
    nr = st.scratch[s, SCR_NR:SCR_NR + 4]
    targets = st.scratch[s, SCR_TARGETS:SCR_TARGETS + 4]
    get_scan_count(st, s, lv, nr)
    for k in range(4):
        targets[k] = nr[k]
    kswapd = st.sc[s, SC_KSWAPD] != 0
    scan_adjusted = (not cgroup_reclaim(st, s)) and not kswapd and st.sc[s, SC_PRIORITY] == DEF_PRIORITY
    finish_after_cut = st.sw[SW_PROPORTIONAL_CUT] == CUT_ADJUST_THEN_FINISH
    nr_to_reclaim = st.sc[s, SC_NR_TO_RECLAIM]
    nr_reclaimed = 0
    while nr[LRU_INACTIVE_ANON] or nr[LRU_ACTIVE_FILE] or nr[LRU_INACTIVE_FILE]:
        for lru in range(4):
            if nr[lru]:
                n = min(nr[lru], SWAP_CLUSTER_MAX)
                nr[lru] -= n
                nr_reclaimed += shrink_list(st, s, lru, n, lv)
        if nr_reclaimed < nr_to_reclaim or scan_adjusted:
            continue
        nr_file = nr[LRU_INACTIVE_FILE] + nr[LRU_ACTIVE_FILE]
        nr_anon = nr[LRU_INACTIVE_ANON] + nr[LRU_ACTIVE_ANON]
        if nr_file == 0 or nr_anon == 0:
            break
        if nr_file > nr_anon:
            percentage = nr_anon * 100 // (targets[LRU_INACTIVE_ANON] + targets[LRU_ACTIVE_ANON] + 1)
            small, big = LRU_INACTIVE_ANON, LRU_INACTIVE_FILE
        else:
            percentage = nr_file * 100 // (targets[LRU_INACTIVE_FILE] + targets[LRU_ACTIVE_FILE] + 1)
            small, big = LRU_INACTIVE_FILE, LRU_INACTIVE_ANON
        nr[small] = 0
        nr[small + 1] = 0
        for lru in (big, big + 1):
            done = targets[lru] - nr[lru]
            new = targets[lru] * (100 - percentage) // 100
            nr[lru] = new - min(new, done)
        if finish_after_cut:
            scan_adjusted = True
    st.sc[s, SC_NR_RECLAIMED] += nr_reclaimed
    # age the anon list even when anon was not scanned
    if st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW:
        if inactive_list_is_low(st, s, lv, False, True):
            shrink_active_list(st, s, SWAP_CLUSTER_MAX, lv, LRU_ACTIVE_ANON)
    elif st.g[G_SWAP_TOTAL] > 0 and inactive_is_low(st, lv, LRU_INACTIVE_ANON):
        shrink_active_list(st, s, SWAP_CLUSTER_MAX, lv, LRU_ACTIVE_ANON)
    return nr_reclaimed


@jit
def prepare_scan_count(st, s, target_lv):
    """P372/P66, once per shrink_node: costs, may_deactivate, cache_trim_mode, file_is_tiny, all
    from the target lruvec (spec §3.6)."""
    st.sc[s, SC_ANON_COST] = st.lv[target_lv, LV_ANON_COST]
    st.sc[s, SC_FILE_COST] = st.lv[target_lv, LV_FILE_COST]
    if not st.sc[s, SC_FORCE_DEACTIVATE]:
        may = 0
        if st.lv[target_lv, LV_WS_ACTIVATE] != st.lv[target_lv, LV_REFAULTS] \
                or inactive_is_low(st, target_lv, LRU_INACTIVE_ANON):
            may |= DEACTIVATE_ANON
        if st.lv[target_lv, LV_WS_ACTIVATE + 1] != st.lv[target_lv, LV_REFAULTS + 1] \
                or inactive_is_low(st, target_lv, LRU_INACTIVE_FILE):
            may |= DEACTIVATE_FILE
        st.sc[s, SC_MAY_DEACTIVATE] = may
    else:
        st.sc[s, SC_MAY_DEACTIVATE] = DEACTIVATE_ANON | DEACTIVATE_FILE
    priority = st.sc[s, SC_PRIORITY]
    file = lruvec_page_state(st, target_lv, LRU_INACTIVE_FILE)
    st.sc[s, SC_CACHE_TRIM_MODE] = 1 if (file >> priority) and not (st.sc[s, SC_MAY_DEACTIVATE] & DEACTIVATE_FILE) else 0
    st.sc[s, SC_FILE_IS_TINY] = 0
    if not cgroup_reclaim(st, s):
        nid = target_lv % st.g[G_NR_NODES]
        filefree, high = node_file_and_free(st, nid)
        anon = st.node[nid, N_NR_LRU + LRU_INACTIVE_ANON]
        if filefree <= high and not (st.sc[s, SC_MAY_DEACTIVATE] & DEACTIVATE_ANON) and (anon >> priority):
            st.sc[s, SC_FILE_IS_TINY] = 1
