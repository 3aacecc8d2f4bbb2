"""Page allocation (mm/page_alloc.c __alloc_pages_nodemask, spec §3.1): the fast path at the low
watermark, then the slow path: wake kswapd, retry at min, direct reclaim, should_reclaim_retry
with its 16 no-progress loops, and the OOM killer."""

from __future__ import annotations

from .direct_reclaim import try_to_free_pages
from .jit import jit
from .kswapd import wakeup_kswapd
from .oom_kill import out_of_memory
from .page_alloc import (
    WMARK_HIGH,
    WMARK_LOW,
    WMARK_MIN,
    get_page_from_freelist,
    wmark_pages,
    zonelist_zone,
)
from .params import BALANCE_RECENT_SCANNED_ROTATED, SW_BALANCE_INPUT
from .state import (
    G_CTX_TASK,
    G_HZ,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    MAX_RECLAIM_RETRIES,
    PAGE_ALLOC_COSTLY_ORDER,
    T_KILLED,
    Z_FREE,
    Z_NODE,
    Z_NR_LRU,
    Z_WRITE_PENDING,
)
from .swapfile import get_nr_swap_pages
from .vmscan import congestion_wait

MAX_OOM_ROUNDS = 64


@jit
def wake_all_kswapds(st, preferred_nid, gfp, order, highest_zoneidx):
    """Wake the kswapd of every node in the zonelist (once per node)."""
    seen = 0
    k = 0
    while True:
        z = zonelist_zone(st, preferred_nid, k, highest_zoneidx)
        if z < 0:
            return
        k += 1
        bit = 1 << st.zone[z, Z_NODE]
        if seen & bit:
            continue
        seen |= bit
        wakeup_kswapd(st, z, gfp, order, highest_zoneidx)


@jit
def zone_reclaimable_pages(st, z):
    nr = st.zone[z, Z_NR_LRU + LRU_INACTIVE_FILE] + st.zone[z, Z_NR_LRU + LRU_ACTIVE_FILE]
    if get_nr_swap_pages(st) > 0:
        nr += st.zone[z, Z_NR_LRU + LRU_INACTIVE_ANON] + st.zone[z, Z_NR_LRU + LRU_ACTIVE_ANON]
    return nr


@jit
def should_reclaim_retry(st, preferred_nid, order, highest_zoneidx, did_some_progress, loops):
    """Returns (retry, no_progress_loops)."""
    if did_some_progress and order <= PAGE_ALLOC_COSTLY_ORDER:
        loops = 0
    else:
        loops += 1
    if loops > MAX_RECLAIM_RETRIES:
        return False, loops
    k = 0
    while True:
        z = zonelist_zone(st, preferred_nid, k, highest_zoneidx)
        if z < 0:
            return False, loops
        k += 1
        reclaimable = zone_reclaimable_pages(st, z)
        available = reclaimable + st.zone[z, Z_FREE]
        if available - ((1 << order) - 1) > wmark_pages(st, z, WMARK_MIN):
            # 4.18 only: much dirty or under writeback and no progress: wait for it a little
            if st.sw[SW_BALANCE_INPUT] == BALANCE_RECENT_SCANNED_ROTATED and not did_some_progress:
                if 2 * st.zone[z, Z_WRITE_PENDING] > reclaimable:
                    congestion_wait(st, st.g[G_HZ] // 10)
            return True, loops


@jit
def alloc_pages(st, gfp, order, preferred_nid, highest_zoneidx):
    """A page for the running task, or -1 when even the OOM killer could not help."""
    page = get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, WMARK_LOW)
    if page >= 0:
        return page
    wake_all_kswapds(st, preferred_nid, gfp, order, highest_zoneidx)
    page = get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, WMARK_MIN)
    if page >= 0:
        return page
    loops = 0
    oom_rounds = 0
    while True:
        wake_all_kswapds(st, preferred_nid, gfp, order, highest_zoneidx)
        page = get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, WMARK_MIN)
        if page >= 0:
            return page
        if st.task[st.g[G_CTX_TASK], T_KILLED]:
            # an OOM victim may dip into the reserves
            return get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, -1)
        progress = try_to_free_pages(st, gfp, order, preferred_nid, highest_zoneidx)
        page = get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, WMARK_MIN)
        if page >= 0:
            return page
        retry, loops = should_reclaim_retry(st, preferred_nid, order, highest_zoneidx, progress > 0, loops)
        if retry:
            continue
        # __alloc_pages_may_oom: a last try at the high watermark, then kill
        page = get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, WMARK_HIGH)
        if page >= 0:
            return page
        if order > PAGE_ALLOC_COSTLY_ORDER or oom_rounds >= MAX_OOM_ROUNDS:
            return -1
        oom_rounds += 1
        if out_of_memory(st, 0) < 0:
            return -1
        loops = 0
