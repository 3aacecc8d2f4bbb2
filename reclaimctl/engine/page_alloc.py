"""Zones, watermarks and free lists (mm/page_alloc.c): the parts reclaim and the allocator share.

Watermark derivation (``calculate_min_free_kbytes``, ``__setup_per_zone_wmarks``,
``setup_per_zone_lowmem_reserve``) is plain Python run once when a machine is built; the free lists
and the watermark test are jitted.  Order > 0 requests are treated as order 0 [SIM, spec §2.1].
"""

from __future__ import annotations

import math

from .jit import jit
from .state import (
    G_NR_NODES,
    IN_FREE,
    IN_NONE,
    N_ZONE0,
    N_ZONES,
    PG_FLUSHQ,
    VM_PGALLOC,
    VM_PGFREE,
    Z_BOOST,
    Z_FREE,
    Z_FREE_HEAD,
    Z_IDX,
    Z_MANAGED,
    Z_NODE,
    Z_RESERVE,
    Z_WMARK_MIN,
)

WMARK_MIN, WMARK_LOW, WMARK_HIGH = 0, 1, 2
LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)  # DMA, DMA32, NORMAL, MOVABLE, DEVICE


def calculate_min_free_kbytes(lowmem_pages: int, page_shift: int, clamp_max: int) -> int:
    """int_sqrt(lowmem_kbytes * 16) clamped to [128, clamp_max] (65536 on 147, 262144 later)."""
    lowmem_kbytes = lowmem_pages << (page_shift - 10)
    return max(128, min(math.isqrt(lowmem_kbytes * 16), clamp_max))


def thp_min_free_kbytes(zones_counted: int, pageblock_pages: int, lowmem_pages: int, page_shift: int) -> int:
    """khugepaged's set_recommended_min_free_kbytes: pageblock x zones x (2 + 3 x 3), capped at 5 %."""
    pages = pageblock_pages * zones_counted * (2 + 3 * 3)
    pages = min(pages, lowmem_pages // 20)
    return pages << (page_shift - 10)


def setup_per_zone_wmarks(managed: list[int], min_free_kbytes: int, page_shift: int,
                          watermark_scale_factor: int = 10) -> list[tuple[int, int, int]]:
    """(min, low, high) per zone of the whole machine, from min_free_kbytes (spec §2.1 steps 2-5)."""
    pages_min = min_free_kbytes >> (page_shift - 10)
    lowmem = sum(managed)
    out = []
    for m in managed:
        wmin = pages_min * m // lowmem if lowmem else 0
        tmp = max(wmin // 4, m * watermark_scale_factor // 10000)
        out.append((wmin, wmin + tmp, wmin + 2 * tmp))
    return out


def setup_per_zone_lowmem_reserve(zone_idx: list[int], managed: list[int]) -> list[list[int]]:
    """lowmem_reserve[j] of each zone of one node: pages of the zones above it up to j, / its ratio."""
    out = []
    for i, zi in enumerate(zone_idx):
        res = [0] * 5
        ratio = LOWMEM_RESERVE_RATIO[zi]
        above = 0
        for j in range(i + 1, len(zone_idx)):
            above += managed[j]
            if ratio:
                res[zone_idx[j]] = above // ratio
        out.append(res)
    return out


# ---------------------------------------------------------------- jitted


@jit
def wmark_pages(st, z, which):
    """The watermark with the current boost added (wmark_pages(); P147 never has a boost)."""
    return st.zone[z, Z_WMARK_MIN + which] + st.zone[z, Z_BOOST]


@jit
def zone_watermark_ok(st, z, order, mark, classzone_idx):
    """__zone_watermark_ok for order-0 accounting: free - (2^order - 1) > mark + lowmem_reserve."""
    free = st.zone[z, Z_FREE] - ((1 << order) - 1)
    reserve = st.zone[z, Z_RESERVE + classzone_idx] if classzone_idx < 5 else 0
    return free > mark + reserve


@jit
def rmqueue(st, z):
    """Take a page off the zone's free list; -1 if empty."""
    page = st.zone[z, Z_FREE_HEAD]
    if page < 0:
        return -1
    st.zone[z, Z_FREE_HEAD] = st.pg_next[page]
    st.zone[z, Z_FREE] -= 1
    st.pg_next[page] = -1
    st.pg_prev[page] = -1
    st.pg_lru[page] = IN_NONE
    st.pg_flags[page] &= PG_FLUSHQ  # a stale flusher-queue entry may still name the page
    st.pg_map[page] = 0
    st.pg_key[page] = -1
    st.pg_lv[page] = 0
    st.vmstat[st.zone[z, Z_NODE], VM_PGALLOC] += 1
    return page


@jit
def free_unref_page(st, page):
    """Return a page to its zone's free list (the page must be off every list)."""
    z = st.pg_zone[page]
    st.pg_next[page] = st.zone[z, Z_FREE_HEAD]
    st.pg_prev[page] = -1
    st.zone[z, Z_FREE_HEAD] = page
    st.zone[z, Z_FREE] += 1
    st.pg_lru[page] = IN_FREE
    st.pg_flags[page] &= PG_FLUSHQ
    st.pg_map[page] = 0
    st.pg_key[page] = -1
    st.vmstat[st.zone[z, Z_NODE], VM_PGFREE] += 1


@jit
def zonelist_zone(st, preferred_nid, k, highest_zoneidx):
    """The k-th zone of the zonelist (ZONELIST_FALLBACK): the preferred node's zones from
    highest_zoneidx down, then the next nodes' (distance order = nid order from the preferred one).
    Returns -1 past the end."""
    nn = st.g[G_NR_NODES]
    for step in range(nn):
        nid = (preferred_nid + step) % nn
        z0 = st.node[nid, N_ZONE0]
        for i in range(st.node[nid, N_ZONES] - 1, -1, -1):
            z = z0 + i
            if st.zone[z, Z_IDX] > highest_zoneidx or st.zone[z, Z_MANAGED] == 0:
                continue
            if k == 0:
                return z
            k -= 1
    return -1


@jit
def get_page_from_freelist(st, preferred_nid, order, highest_zoneidx, which):
    """First zone of the zonelist that passes the watermark ``which`` (0 min, 1 low, 2 high) and has
    a page: take it.  -1 when none does."""
    k = 0
    while True:
        z = zonelist_zone(st, preferred_nid, k, highest_zoneidx)
        if z < 0:
            return -1
        k += 1
        if which >= 0 and not zone_watermark_ok(st, z, order, wmark_pages(st, z, which), highest_zoneidx):
            continue
        page = rmqueue(st, z)
        if page >= 0:
            return page
