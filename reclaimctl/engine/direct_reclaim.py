"""Reclaim on behalf of an allocating task (mm/vmscan.c): try_to_free_pages with its pfmemalloc
throttle, and try_to_free_mem_cgroup_pages for a memcg over its limit (spec §3.3)."""

from __future__ import annotations

from .jit import jit
from .kswapd import NEED_BALANCE, allow_direct_reclaim, kswapd_step_as_kswapd
from .state import (
    G_CTX_TASK,
    G_GFP_ZONE_KERNEL,
    G_NOW,
    G_NR_ZONES,
    KSWAPD_RUNNING,
    N_BAL_PRIORITY,
    N_KSWAPD_CLOCK,
    N_KSWAPD_HZI,
    N_KSWAPD_STATE,
    N_PFMEMALLOC_WAITERS,
    SC_MAY_WRITEPAGE,
    SWAP_CLUSTER_MAX,
    T_KTHREAD,
)
from .trace import GFP_HIGHUSER_MOVABLE, trace_reclaim_begin, trace_reclaim_end
from .vmscan import advance_to, do_try_to_free_pages, init_scan_control

MAX_THROTTLE_STEPS = 100_000


@jit
def throttle_direct_reclaim(st, nid):
    """A user task waits on pfmemalloc_wait while the node's free pages are below half its min
    watermarks; kswapd runs meanwhile (woken, with highest_zoneidx lowered to NORMAL)."""
    if st.task[st.g[G_CTX_TASK], T_KTHREAD] or allow_direct_reclaim(st, nid):
        return
    now = st.g[G_NOW]
    st.node[nid, N_PFMEMALLOC_WAITERS] = 1
    normal = st.g[G_GFP_ZONE_KERNEL]
    if st.node[nid, N_KSWAPD_HZI] < 0 or st.node[nid, N_KSWAPD_HZI] > normal:
        st.node[nid, N_KSWAPD_HZI] = normal
    if st.node[nid, N_KSWAPD_CLOCK] < now:
        st.node[nid, N_KSWAPD_CLOCK] = now
    steps = 0
    while not allow_direct_reclaim(st, nid) and steps < MAX_THROTTLE_STEPS:
        if st.node[nid, N_KSWAPD_STATE] != KSWAPD_RUNNING:
            st.node[nid, N_KSWAPD_STATE] = KSWAPD_RUNNING  # wake_up_interruptible(&kswapd_wait)
            st.node[nid, N_BAL_PRIORITY] = NEED_BALANCE
        kswapd_step_as_kswapd(st, nid)
        steps += 1
    wake = st.node[nid, N_KSWAPD_CLOCK]
    advance_to(st, wake)


@jit
def try_to_free_pages(st, gfp, order, nid, highest_zoneidx):
    """Direct reclaim: 32 pages, reclaim_idx = gfp_zone(gfp), whole machine (spec §3.3)."""
    s = 0
    throttle_direct_reclaim(st, nid)
    init_scan_control(st, s, SWAP_CLUSTER_MAX, gfp, order, highest_zoneidx, -1, 1)
    trace_reclaim_begin(st, False, order, st.sc[s, SC_MAY_WRITEPAGE], gfp, highest_zoneidx)
    nr = do_try_to_free_pages(st, s)
    trace_reclaim_end(st, False, nr)
    return nr


@jit
def try_to_free_mem_cgroup_pages(st, memcg, nr_pages, may_swap):
    """Limit reclaim of a memcg subtree: max(nr_pages, 32) pages, all zones, HIGHUSER_MOVABLE."""
    s = 0
    reclaim_idx = st.g[G_NR_ZONES] - 1
    init_scan_control(st, s, max(nr_pages, SWAP_CLUSTER_MAX), GFP_HIGHUSER_MOVABLE, 0, reclaim_idx, memcg, may_swap)
    trace_reclaim_begin(st, True, 0, st.sc[s, SC_MAY_WRITEPAGE], GFP_HIGHUSER_MOVABLE, reclaim_idx)
    nr = do_try_to_free_pages(st, s)
    trace_reclaim_end(st, True, nr)
    return nr
