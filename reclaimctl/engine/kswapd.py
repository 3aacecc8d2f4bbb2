"""kswapd (mm/vmscan.c, spec §3.8): wakeup_kswapd, pgdat_balanced, balance_pgdat, the short nap
and the full sleep.

Each node's kswapd is a thread of its own.  The run loop lets it work between workload events:
``kswapd_run(st, nid, until)`` executes it round by round (one balance_pgdat priority round, one nap,
one sleep decision at a time) on its own clock, CPU and task, until it sleeps or reaches ``until``.
"""

from __future__ import annotations

from .jit import jit
from .page_alloc import WMARK_HIGH, WMARK_MIN, wmark_pages, zone_watermark_ok
from .params import CHECK_INACTIVE_LIST_IS_LOW, SW_INACTIVE_CHECK, SW_WATERMARK_BOOST_FACTOR
from .shrink_list import shrink_active_list
from .shrink_lruvec import inactive_is_low, inactive_list_is_low
from .state import (
    DEF_PRIORITY,
    G_CTX_CPU,
    G_CTX_KSWAPD,
    G_CTX_TASK,
    G_GFP_ZONE_KERNEL,
    G_HZ,
    G_NOW,
    G_NR_NODES,
    G_SWAP_TOTAL,
    KSWAPD_NAPPING,
    KSWAPD_RUNNING,
    KSWAPD_SLEEPING,
    LRU_ACTIVE_ANON,
    MAX_RECLAIM_RETRIES,
    MC_POS,
    MC_SUBTREE_END,
    N_BAL_BOOST,
    N_BAL_HZI,
    N_BAL_ORDER,
    N_BAL_PRIORITY,
    N_FLAGS,
    N_KSWAPD_CLOCK,
    N_KSWAPD_CPU,
    N_KSWAPD_FAILURES,
    N_KSWAPD_HZI,
    N_KSWAPD_ORDER,
    N_KSWAPD_STATE,
    N_KSWAPD_TASK,
    N_NAP_UNTIL,
    N_PFMEMALLOC_WAITERS,
    N_ZONE0,
    N_ZONES,
    PGDAT_CONGESTED,
    PGDAT_DIRTY,
    PGDAT_WRITEBACK,
    SC_KSWAPD,
    SC_MAY_SWAP,
    SC_MAY_WRITEPAGE,
    SC_NR_RECLAIMED,
    SC_NR_SCANNED,
    SC_NR_TO_RECLAIM,
    SC_ORDER,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SWAP_CLUSTER_MAX,
    VM_KSWAPD_HIGH_WMARK_HIT_QUICKLY,
    VM_KSWAPD_LOW_WMARK_HIT_QUICKLY,
    VM_PAGEOUTRUN,
    Z_BOOST,
    Z_FREE,
    Z_IDX,
    Z_MANAGED,
    Z_NODE,
)
from .trace import (
    GFP_KERNEL,
    trace_mm_vmscan_kswapd_sleep,
    trace_mm_vmscan_kswapd_wake,
    trace_mm_vmscan_wakeup_kswapd,
)
from .vmscan import init_scan_control, shrink_node, snapshot_refaults

NEED_BALANCE = -1  # N_BAL_PRIORITY when kswapd is awake but has not started balance_pgdat


@jit
def pgdat_balanced(st, nid, order, highest_zoneidx):
    """Some managed zone <= highest_zoneidx is above its high watermark (boost included)."""
    mark = -1
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] > highest_zoneidx or st.zone[z, Z_MANAGED] == 0:
            continue
        mark = wmark_pages(st, z, WMARK_HIGH)
        if zone_watermark_ok(st, z, order, mark, highest_zoneidx):
            return True
    return mark == -1


@jit
def pgdat_watermark_boosted(st, nid, highest_zoneidx):
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] <= highest_zoneidx and st.zone[z, Z_BOOST] > 0:
            return True
    return False


@jit
def allow_direct_reclaim(st, nid):
    """Free pages of zones <= NORMAL above half their min watermarks (or kswapd gave up)."""
    if st.node[nid, N_KSWAPD_FAILURES] >= MAX_RECLAIM_RETRIES:
        return True
    reserve = 0
    free = 0
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] > st.g[G_GFP_ZONE_KERNEL] or st.zone[z, Z_MANAGED] == 0:
            continue
        reserve += wmark_pages(st, z, WMARK_MIN)
        free += st.zone[z, Z_FREE]
    if reserve == 0:
        return True
    return free > reserve // 2


@jit
def kswapd_highest_zoneidx(st, nid, prev):
    cur = st.node[nid, N_KSWAPD_HZI]
    return prev if cur < 0 else cur


@jit
def wakeup_kswapd(st, z, gfp, order, highest_zoneidx):
    """Record the request; wake kswapd if it is on its wait queue (asleep or napping), the node is
    not hopeless and not balanced (spec §3.8 wake steps 1-5)."""
    if st.zone[z, Z_MANAGED] == 0:
        return
    nid = st.zone[z, Z_NODE]
    cur = st.node[nid, N_KSWAPD_HZI]
    if cur < 0 or cur < highest_zoneidx:
        st.node[nid, N_KSWAPD_HZI] = highest_zoneidx
    if st.node[nid, N_KSWAPD_ORDER] < order:
        st.node[nid, N_KSWAPD_ORDER] = order
    state = st.node[nid, N_KSWAPD_STATE]
    if state == KSWAPD_RUNNING:
        return
    if st.node[nid, N_KSWAPD_FAILURES] >= MAX_RECLAIM_RETRIES:
        return
    if pgdat_balanced(st, nid, order, highest_zoneidx):
        if st.sw[SW_WATERMARK_BOOST_FACTOR] == 0 or not pgdat_watermark_boosted(st, nid, highest_zoneidx):
            return
    trace_mm_vmscan_wakeup_kswapd(st, nid, highest_zoneidx, order, gfp)
    st.node[nid, N_KSWAPD_STATE] = KSWAPD_RUNNING
    if state == KSWAPD_NAPPING:
        st.node[nid, N_NAP_UNTIL] = -1  # the nap is interrupted ("remaining" > 0)
        st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE - 1
    else:
        st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE
    if st.node[nid, N_KSWAPD_CLOCK] < st.g[G_NOW]:
        st.node[nid, N_KSWAPD_CLOCK] = st.g[G_NOW]


@jit
def age_active_anon(st, s, nid):
    """Keep the anon inactive list big enough, even when kswapd does not scan anon."""
    if st.g[G_SWAP_TOTAL] == 0:
        return
    nn = st.g[G_NR_NODES]
    p147 = st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW
    if not p147 and not inactive_is_low(st, nid, 0):
        return
    for p in range(st.mc[0, MC_POS], st.mc[0, MC_SUBTREE_END]):
        lv = st.mc_order[p] * nn + nid
        if p147 and not inactive_list_is_low(st, s, lv, False, True):
            continue
        shrink_active_list(st, s, SWAP_CLUSTER_MAX, lv, LRU_ACTIVE_ANON)


@jit
def kswapd_shrink_node(st, s, nid):
    """nr_to_reclaim = sum of max(high, 32) over the zones in range; True if enough was scanned."""
    total = 0
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] > st.sc[s, SC_RECLAIM_IDX] or st.zone[z, Z_MANAGED] == 0:
            continue
        total += max(wmark_pages(st, z, WMARK_HIGH), SWAP_CLUSTER_MAX)
    st.sc[s, SC_NR_TO_RECLAIM] = total
    shrink_node(st, s, nid)
    if st.sc[s, SC_ORDER] and st.sc[s, SC_NR_RECLAIMED] >= (2 << st.sc[s, SC_ORDER]):
        st.sc[s, SC_ORDER] = 0
    return st.sc[s, SC_NR_SCANNED] >= st.sc[s, SC_NR_TO_RECLAIM]


@jit
def balance_pgdat_begin(st, s, nid, order, highest_zoneidx):
    init_scan_control(st, s, 0, GFP_KERNEL, order, highest_zoneidx, -1, 1)
    st.sc[s, SC_KSWAPD] = 1
    st.vmstat[nid, VM_PAGEOUTRUN] += 1
    boost = 0
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] <= highest_zoneidx:
            boost += st.zone[z, Z_BOOST]
    st.node[nid, N_BAL_BOOST] = boost
    st.node[nid, N_BAL_ORDER] = order
    st.node[nid, N_BAL_HZI] = highest_zoneidx
    st.node[nid, N_BAL_PRIORITY] = DEF_PRIORITY


@jit
def balance_pgdat_end(st, s, nid, failed):
    if failed:
        st.node[nid, N_KSWAPD_FAILURES] += 1
    hzi = st.node[nid, N_BAL_HZI]
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] <= hzi:
            st.zone[z, Z_BOOST] = 0
    snapshot_refaults(st, s, nid)
    st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE - 1  # done: go and try to sleep


@jit
def balance_pgdat_round(st, s, nid):
    """One iteration of balance_pgdat's priority loop.  Returns False when balance_pgdat is over."""
    order = st.sc[s, SC_ORDER]
    hzi = st.node[nid, N_BAL_HZI]
    st.sc[s, SC_RECLAIM_IDX] = hzi
    balanced = pgdat_balanced(st, nid, order, hzi)
    boost = st.node[nid, N_BAL_BOOST]
    if not balanced and boost:
        st.node[nid, N_BAL_BOOST] = 0  # normal reclaim takes over: restart at DEF_PRIORITY
        st.sc[s, SC_PRIORITY] = DEF_PRIORITY
        boost = 0
    if balanced and not boost:
        balance_pgdat_end(st, s, nid, False)
        return False
    priority = st.sc[s, SC_PRIORITY]
    raise_priority = not (boost and priority == DEF_PRIORITY - 2)
    st.sc[s, SC_MAY_WRITEPAGE] = 0 if boost else 1
    st.sc[s, SC_MAY_SWAP] = 0 if boost else 1
    age_active_anon(st, s, nid)
    if priority < DEF_PRIORITY - 2:
        st.sc[s, SC_MAY_WRITEPAGE] = 1
    st.sc[s, SC_NR_SCANNED] = 0
    before = st.sc[s, SC_NR_RECLAIMED]
    if kswapd_shrink_node(st, s, nid):
        raise_priority = False
    if st.node[nid, N_PFMEMALLOC_WAITERS] and allow_direct_reclaim(st, nid):
        st.node[nid, N_PFMEMALLOC_WAITERS] = 0
    reclaimed = st.sc[s, SC_NR_RECLAIMED] - before
    boost -= min(boost, reclaimed)
    st.node[nid, N_BAL_BOOST] = boost
    if boost and not reclaimed:
        balance_pgdat_end(st, s, nid, False)
        return False
    if raise_priority or not reclaimed:
        st.sc[s, SC_PRIORITY] -= 1
    if st.sc[s, SC_PRIORITY] < 1:
        balance_pgdat_end(st, s, nid, st.sc[s, SC_NR_RECLAIMED] == 0)
        return False
    return True


@jit
def prepare_kswapd_sleep(st, nid, order, highest_zoneidx):
    st.node[nid, N_PFMEMALLOC_WAITERS] = 0
    if st.node[nid, N_KSWAPD_FAILURES] >= MAX_RECLAIM_RETRIES:
        return True
    if pgdat_balanced(st, nid, order, highest_zoneidx):
        st.node[nid, N_FLAGS] &= ~(PGDAT_DIRTY | PGDAT_WRITEBACK | PGDAT_CONGESTED)
        return True
    return False


@jit
def kswapd_start_balance(st, s, nid):
    """The top of kswapd's loop after a wakeup: read and reset the request, trace, begin."""
    alloc_order = st.node[nid, N_KSWAPD_ORDER]
    hzi = kswapd_highest_zoneidx(st, nid, st.node[nid, N_BAL_HZI])
    st.node[nid, N_KSWAPD_ORDER] = 0
    st.node[nid, N_KSWAPD_HZI] = -1
    trace_mm_vmscan_kswapd_wake(st, nid, hzi, alloc_order)
    balance_pgdat_begin(st, s, nid, alloc_order, hzi)


@jit
def kswapd_step(st, nid):
    """One step of node nid's kswapd in its own context.  Returns False when it went to sleep."""
    s = 1 + nid
    state = st.node[nid, N_KSWAPD_STATE]
    if state == KSWAPD_SLEEPING:
        return False
    if state == KSWAPD_NAPPING:
        # the nap ran out without a wakeup: sleep for good if still balanced
        order = st.sc[s, SC_ORDER]
        hzi = st.node[nid, N_BAL_HZI]
        st.g[G_NOW] = st.node[nid, N_NAP_UNTIL]
        if prepare_kswapd_sleep(st, nid, order, hzi):
            trace_mm_vmscan_kswapd_sleep(st, nid)
            st.node[nid, N_KSWAPD_STATE] = KSWAPD_SLEEPING
            return False
        st.vmstat[nid, VM_KSWAPD_HIGH_WMARK_HIT_QUICKLY] += 1
        st.node[nid, N_KSWAPD_STATE] = KSWAPD_RUNNING
        st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE
        return True
    prio = st.node[nid, N_BAL_PRIORITY]
    if prio == NEED_BALANCE:
        kswapd_start_balance(st, s, nid)
        return True
    if prio >= 0:
        balance_pgdat_round(st, s, nid)
        return True
    # balance_pgdat returned: kswapd_try_to_sleep
    order = st.sc[s, SC_ORDER]
    hzi = st.node[nid, N_BAL_HZI]
    if st.node[nid, N_NAP_UNTIL] == -1:
        # woken during the nap: merge the request and go round again
        st.node[nid, N_NAP_UNTIL] = 0
        st.vmstat[nid, VM_KSWAPD_LOW_WMARK_HIT_QUICKLY] += 1
        st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE
        return True
    if prepare_kswapd_sleep(st, nid, order, hzi):
        st.node[nid, N_KSWAPD_STATE] = KSWAPD_NAPPING
        st.node[nid, N_NAP_UNTIL] = st.g[G_NOW] + (st.g[G_HZ] // 10) * 1_000_000_000 // st.g[G_HZ]  # HZ/10
        return True
    st.vmstat[nid, VM_KSWAPD_HIGH_WMARK_HIT_QUICKLY] += 1
    st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE
    return True


@jit
def kswapd_step_as_kswapd(st, nid):
    """One kswapd_step on kswapd's own clock, CPU and task; the caller's context is restored."""
    saved_now = st.g[G_NOW]
    saved_cpu = st.g[G_CTX_CPU]
    saved_task = st.g[G_CTX_TASK]
    st.g[G_CTX_CPU] = st.node[nid, N_KSWAPD_CPU]
    st.g[G_CTX_TASK] = st.node[nid, N_KSWAPD_TASK]
    st.g[G_CTX_KSWAPD] = nid
    st.g[G_NOW] = st.node[nid, N_KSWAPD_CLOCK]
    kswapd_step(st, nid)
    st.node[nid, N_KSWAPD_CLOCK] = st.g[G_NOW]
    st.g[G_NOW] = saved_now
    st.g[G_CTX_CPU] = saved_cpu
    st.g[G_CTX_TASK] = saved_task
    st.g[G_CTX_KSWAPD] = -1


@jit
def kswapd_run(st, nid, until):
    """Let node nid's kswapd run until its clock reaches ``until`` or it sleeps."""
    while st.node[nid, N_KSWAPD_STATE] != KSWAPD_SLEEPING:
        if st.node[nid, N_KSWAPD_STATE] == KSWAPD_NAPPING:
            if st.node[nid, N_NAP_UNTIL] > until:
                break
        elif st.node[nid, N_KSWAPD_CLOCK] >= until:
            break
        kswapd_step_as_kswapd(st, nid)
