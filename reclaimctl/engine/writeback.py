"""Dirty pages, writeback IO and the flusher (mm/page-writeback.c, fs/fs-writeback.c) [SIM §2.8].

IO completes after a fixed device latency, so each device (swap, file) is a FIFO ring of
(page, completion time).  Completion clears PG_writeback and rotates PG_reclaim pages to the tail
of their inactive list (rotate_reclaimable_page); a failed swap write leaves the page dirty with
PG_error, its slot still used.  The flusher writes dirty file pages oldest first at the storage
bandwidth while dirty pages exceed the background threshold or reclaim woke it.
"""

from __future__ import annotations

from .jit import jit
from .mm_inline import add_page_to_lru_list_tail, del_page_from_lru_list
from .params import LAT_FILE_W, LAT_SWAP_W
from .state import (
    G_DIRTY_BG_RATIO,
    G_DIRTY_BG_THRESH,
    G_DIRTY_RATIO,
    G_DIRTY_THRESH,
    G_FLUSHER_BW,
    G_FLUSHER_CLOCK,
    G_FLUSHER_WOKEN,
    G_FQ_HEAD,
    G_FQ_LEN,
    G_FQ_TAIL,
    G_IO_HEAD,
    G_IO_TAIL,
    G_NOW,
    G_NR_DIRTY,
    G_NR_NODES,
    G_NR_WRITEBACK,
    G_RNG,
    G_SWAP_ERR_PPM,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_FILE,
    N_NR_LRU,
    N_ZONE0,
    N_ZONES,
    PG_ACTIVE,
    PG_ANON,
    PG_DIRTY,
    PG_ERROR,
    PG_FLUSHQ,
    PG_LRU,
    PG_RECLAIM,
    PG_UNEVICTABLE,
    PG_WRITEBACK,
    VM_NR_DIRTIED,
    VM_NR_WRITTEN,
    VM_PGROTATED,
    VM_SWAP_WRITE_ERRORS,
    Z_FREE,
    Z_WRITE_PENDING,
)
from .swap import page_node

IO_SWAP = 0
IO_FILE = 1
MAX_PAUSE_NS = 200_000_000  # balance_dirty_pages pauses at most HZ/5


@jit
def prandom(st):
    """xorshift64*: the model's only randomness, seeded per run."""
    x = st.g[G_RNG]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    st.g[G_RNG] = x
    return (x * 2685821657736338717) >> 33 & 0x7FFFFFFF


@jit
def set_page_dirty(st, page):
    if st.pg_flags[page] & PG_DIRTY:
        return
    st.pg_flags[page] |= PG_DIRTY
    if st.pg_flags[page] & PG_ANON:
        return
    st.g[G_NR_DIRTY] += 1
    st.zone[st.pg_zone[page], Z_WRITE_PENDING] += 1
    st.vmstat[page_node(st, page), VM_NR_DIRTIED] += 1
    if not (st.pg_flags[page] & PG_FLUSHQ):
        st.pg_flags[page] |= PG_FLUSHQ
        tail = st.g[G_FQ_TAIL]
        st.flushq[tail] = page
        st.g[G_FQ_TAIL] = (tail + 1) % st.flushq.shape[0]
        st.g[G_FQ_LEN] += 1


@jit
def clear_page_dirty(st, page):
    if not (st.pg_flags[page] & PG_DIRTY):
        return
    st.pg_flags[page] &= ~PG_DIRTY
    if not (st.pg_flags[page] & PG_ANON):
        st.g[G_NR_DIRTY] -= 1
        st.zone[st.pg_zone[page], Z_WRITE_PENDING] -= 1


@jit
def submit_write(st, ring, page):
    """Start writeback of a page whose dirty bit the caller cleared."""
    st.pg_flags[page] |= PG_WRITEBACK
    st.g[G_NR_WRITEBACK] += 1
    if ring == IO_FILE:
        st.zone[st.pg_zone[page], Z_WRITE_PENDING] += 1
    lat = st.cost[LAT_SWAP_W] if ring == IO_SWAP else st.cost[LAT_FILE_W]
    tail = st.g[G_IO_TAIL + ring]
    cap = st.io_page.shape[1]
    st.io_page[ring, tail] = page
    st.io_time[ring, tail] = st.g[G_NOW] + int(lat)
    st.g[G_IO_TAIL + ring] = (tail + 1) % cap


@jit
def rotate_reclaimable_page(st, page):
    """A PG_reclaim page finished writeback: move it to the tail of its inactive list."""
    flags = st.pg_flags[page]
    if not (flags & PG_LRU) or (flags & (PG_ACTIVE | PG_UNEVICTABLE | PG_DIRTY)):
        return
    lru = st.pg_lru[page]
    lv = st.pg_lv[page]
    del_page_from_lru_list(st, page, lv, lru)
    add_page_to_lru_list_tail(st, page, lv, lru)
    st.vmstat[page_node(st, page), VM_PGROTATED] += 1


@jit
def end_page_writeback(st, ring, page):
    st.pg_flags[page] &= ~PG_WRITEBACK
    st.g[G_NR_WRITEBACK] -= 1
    if ring == IO_FILE:
        st.zone[st.pg_zone[page], Z_WRITE_PENDING] -= 1
    st.vmstat[page_node(st, page), VM_NR_WRITTEN] += 1
    if ring == IO_SWAP and st.g[G_SWAP_ERR_PPM] > 0 and prandom(st) % 1_000_000 < st.g[G_SWAP_ERR_PPM]:
        # "Write-error on swap-device": redirty, PG_error, no rotation; the slot stays allocated
        st.pg_flags[page] |= PG_DIRTY | PG_ERROR
        st.pg_flags[page] &= ~PG_RECLAIM
        st.vmstat[page_node(st, page), VM_SWAP_WRITE_ERRORS] += 1
        return
    if st.pg_flags[page] & PG_RECLAIM:
        st.pg_flags[page] &= ~PG_RECLAIM
        rotate_reclaimable_page(st, page)


@jit
def complete_io(st, now):
    """Finish every write whose completion time has come."""
    cap = st.io_page.shape[1]
    for ring in range(2):
        head = st.g[G_IO_HEAD + ring]
        tail = st.g[G_IO_TAIL + ring]
        while head != tail and st.io_time[ring, head] <= now:
            end_page_writeback(st, ring, st.io_page[ring, head])
            head = (head + 1) % cap
        st.g[G_IO_HEAD + ring] = head


@jit
def global_dirtyable_memory(st):
    total = 0
    nn = st.g[G_NR_NODES]
    for nid in range(nn):
        for i in range(st.node[nid, N_ZONES]):
            total += st.zone[st.node[nid, N_ZONE0] + i, Z_FREE]
        total += st.node[nid, N_NR_LRU + LRU_INACTIVE_FILE] + st.node[nid, N_NR_LRU + LRU_ACTIVE_FILE]
    return total


@jit
def domain_dirty_limits(st):
    mem = global_dirtyable_memory(st)
    st.g[G_DIRTY_BG_THRESH] = mem * st.g[G_DIRTY_BG_RATIO] // 100
    st.g[G_DIRTY_THRESH] = mem * st.g[G_DIRTY_RATIO] // 100


@jit
def wakeup_flusher_threads(st):
    st.g[G_FLUSHER_WOKEN] = 1


@jit
def wb_writeback(st, now):
    """Run the flusher up to ``now``: pages written = bandwidth x elapsed time, while it has work."""
    last = st.g[G_FLUSHER_CLOCK]
    if now <= last:
        return
    active = st.g[G_FLUSHER_WOKEN] or st.g[G_NR_DIRTY] > st.g[G_DIRTY_BG_THRESH]
    if not active or st.g[G_FQ_LEN] == 0:
        st.g[G_FLUSHER_CLOCK] = now
        st.g[G_FLUSHER_WOKEN] = 0
        return
    budget = (now - last) * st.g[G_FLUSHER_BW] // 1_000_000_000
    if budget == 0:
        return  # keep the clock: the time accumulates into the next call
    cap = st.flushq.shape[0]
    saved = st.g[G_NOW]
    written = 0
    while written < budget and st.g[G_FQ_LEN] > 0:
        head = st.g[G_FQ_HEAD]
        page = st.flushq[head]
        st.g[G_FQ_HEAD] = (head + 1) % cap
        st.g[G_FQ_LEN] -= 1
        st.pg_flags[page] &= ~PG_FLUSHQ
        flags = st.pg_flags[page]
        if not (flags & PG_DIRTY) or (flags & (PG_WRITEBACK | PG_ANON)):
            continue
        # IO starts at the flusher's pace across the interval
        st.g[G_NOW] = last + written * 1_000_000_000 // st.g[G_FLUSHER_BW]
        clear_page_dirty(st, page)
        submit_write(st, IO_FILE, page)
        written += 1
    st.g[G_NOW] = saved
    st.g[G_FLUSHER_CLOCK] = now
    if st.g[G_NR_DIRTY] <= st.g[G_DIRTY_BG_THRESH]:
        st.g[G_FLUSHER_WOKEN] = 0


@jit
def balance_dirty_pages(st):
    """The writer pauses while dirty pages are above the dirty threshold; returns the pause in ns.
    (Thresholds are refreshed by the run loop every 1024 workload events.)"""
    over = st.g[G_NR_DIRTY] - st.g[G_DIRTY_THRESH]
    if st.g[G_NR_DIRTY] > st.g[G_DIRTY_BG_THRESH]:
        wakeup_flusher_threads(st)
    if over <= 0 or st.g[G_FLUSHER_BW] <= 0:
        return 0
    return min(MAX_PAUSE_NS, over * 1_000_000_000 // st.g[G_FLUSHER_BW])
