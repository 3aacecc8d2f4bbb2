"""Tracepoints the model fires (spec §9), and their conversion into the registry's event tables.

The jitted ``trace_*`` functions append one row to ``st.ev`` (event id, clock, CPU, task, payload);
:func:`to_tables` turns the rows into ``EventTables`` with exactly the schema the parser produces
(same columns, same types, same decoded columns), so every report works on a simulated run.
String fields are stored as codes into the tuples below.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..events.flags import decoded_batch
from ..events.registry import REGISTRY
from ..events.schema import I32, I64, PTR, STR
from ..events.tables import EventTables, TraceMeta
from .jit import jit
from .state import (
    EV_CPU,
    EV_F0,
    EV_ID,
    EV_TASK,
    EV_TS,
    G_CTX_CPU,
    G_CTX_TASK,
    G_EV_LOST,
    G_EV_N,
    G_NOW,
    LRU_NAMES,
)

GFP_NAMES = ("GFP_HIGHUSER_MOVABLE", "GFP_KERNEL", "GFP_NOFS", "GFP_NOIO", "GFP_ATOMIC")
GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_ATOMIC = range(5)
RECLAIM_FLAGS = ("RECLAIM_WB_ANON|RECLAIM_WB_ASYNC", "RECLAIM_WB_FILE|RECLAIM_WB_ASYNC")
LRU_TYPE_FLAGS = ("RECLAIM_WB_ANON", "RECLAIM_WB_FILE")  # inactive_list_is_low masks the sync bits off
THROTTLE_REASONS = ("VMSCAN_THROTTLE_WRITEBACK", "VMSCAN_THROTTLE_ISOLATED", "VMSCAN_THROTTLE_NOPROGRESS",
                    "VMSCAN_THROTTLE_CONGESTED")
VMEMMAP_BASE = 0xFFFFEA0000000000  # x86_64 vmemmap; struct page is 64 bytes [SIM]

# event id -> (registry name, payload fields in row order as (field, string table or None))
TP_WAKEUP_KSWAPD = 0
TP_KSWAPD_WAKE = 1
TP_KSWAPD_SLEEP = 2
TP_DIRECT_BEGIN = 3
TP_DIRECT_END = 4
TP_MEMCG_BEGIN = 5
TP_MEMCG_END = 6
TP_LRU_ISOLATE = 7
TP_SHRINK_INACTIVE = 8
TP_SHRINK_ACTIVE = 9
TP_INACTIVE_LIST_IS_LOW = 10
TP_WRITEPAGE = 11
TP_THROTTLED = 12
TP_SLAB_START = 13
TP_SLAB_END = 14
TP_MARK_VICTIM = 15
TP_CONGESTION_WAIT = 16
TP_WAIT_IFF_CONGESTED = 17
TP_STAP_TTFP_BEGIN = 18
TP_STAP_TTFP_END = 19
TP_STAP_SHRINK_NODE_BEGIN = 20
TP_STAP_SHRINK_NODE_END = 21

_BEGIN = (("order", None), ("may_writepage", None), ("gfp_flags", GFP_NAMES), ("highest_zoneidx", None))
_SHRINK_INACTIVE = tuple((n, None) for n in (
    "nid", "nr_scanned", "nr_reclaimed", "nr_dirty", "nr_writeback", "nr_congested", "nr_immediate",
    "nr_activate_anon", "nr_activate_file", "nr_ref_keep", "nr_unmap_fail", "priority")) + (("flags", RECLAIM_FLAGS),)

TRACEPOINTS: dict[int, tuple[str, tuple[tuple[str, tuple[str, ...] | None], ...]]] = {
    TP_WAKEUP_KSWAPD: ("mm_vmscan_wakeup_kswapd", (("nid", None), ("zid", None), ("order", None),
                                                   ("gfp_flags", GFP_NAMES))),
    TP_KSWAPD_WAKE: ("mm_vmscan_kswapd_wake", (("nid", None), ("zid", None), ("order", None))),
    TP_KSWAPD_SLEEP: ("mm_vmscan_kswapd_sleep", (("nid", None),)),
    TP_DIRECT_BEGIN: ("mm_vmscan_direct_reclaim_begin", _BEGIN),
    TP_DIRECT_END: ("mm_vmscan_direct_reclaim_end", (("nr_reclaimed", None),)),
    TP_MEMCG_BEGIN: ("mm_vmscan_memcg_reclaim_begin", _BEGIN),
    TP_MEMCG_END: ("mm_vmscan_memcg_reclaim_end", (("nr_reclaimed", None),)),
    TP_LRU_ISOLATE: ("mm_vmscan_lru_isolate", (
        ("isolate_mode", None), ("highest_zoneidx", None), ("order", None), ("nr_requested", None),
        ("nr_scanned", None), ("nr_skipped", None), ("nr_taken", None), ("lru", LRU_NAMES))),
    TP_SHRINK_INACTIVE: ("mm_vmscan_lru_shrink_inactive", _SHRINK_INACTIVE),
    TP_SHRINK_ACTIVE: ("mm_vmscan_lru_shrink_active", (
        ("nid", None), ("nr_taken", None), ("nr_active", None), ("nr_deactivated", None),
        ("nr_referenced", None), ("priority", None), ("flags", RECLAIM_FLAGS))),
    TP_INACTIVE_LIST_IS_LOW: ("mm_vmscan_inactive_list_is_low", (
        ("nid", None), ("reclaim_idx", None), ("total_inactive", None), ("inactive", None),
        ("total_active", None), ("active", None), ("ratio", None), ("flags", LRU_TYPE_FLAGS))),
    TP_WRITEPAGE: ("mm_vmscan_writepage", (("page", None), ("pfn", None), ("flags", RECLAIM_FLAGS))),
    TP_THROTTLED: ("mm_vmscan_throttled", (("nid", None), ("usec_timeout", None), ("usec_delayed", None),
                                           ("reason", THROTTLE_REASONS))),
    TP_SLAB_START: ("mm_shrink_slab_start", (
        ("shrink", ()), ("shr", None), ("nid", None), ("nr_objects_to_shrink", None), ("gfp_flags", GFP_NAMES),
        ("cache_items", None), ("delta", None), ("total_scan", None), ("priority", None))),
    TP_SLAB_END: ("mm_shrink_slab_end", (
        ("shrink", ()), ("shr", None), ("nid", None), ("unused_scan", None), ("new_scan", None),
        ("total_scan", None), ("retval", None))),
    TP_MARK_VICTIM: ("mark_victim", (("victim_pid", None),)),
    TP_CONGESTION_WAIT: ("writeback_congestion_wait", (("usec_timeout", None), ("usec_delayed", None))),
    TP_WAIT_IFF_CONGESTED: ("writeback_wait_iff_congested", (("usec_timeout", None), ("usec_delayed", None))),
    TP_STAP_TTFP_BEGIN: ("stap_try_to_free_pages_begin", ()),
    TP_STAP_TTFP_END: ("stap_try_to_free_pages_end", (("try_to_free_delta", None), ("shrink_slab_delta", None))),
    TP_STAP_SHRINK_NODE_BEGIN: ("stap_shrink_node_begin", (("priority", None), ("nr_scanned", None),
                                                          ("nr_reclaimed", None))),
    TP_STAP_SHRINK_NODE_END: ("stap_shrink_node_end", (("shrink_node_delta", None), ("shrink_slab_delta", None))),
}


# ---------------------------------------------------------------- jitted emitters


@jit
def _row(st, ev_id):
    n = st.g[G_EV_N]
    if n >= st.ev.shape[0]:
        st.g[G_EV_LOST] += 1
        return -1
    st.g[G_EV_N] = n + 1
    st.ev[n, EV_ID] = ev_id
    st.ev[n, EV_TS] = st.g[G_NOW]
    st.ev[n, EV_CPU] = st.g[G_CTX_CPU]
    st.ev[n, EV_TASK] = st.g[G_CTX_TASK]
    return n


@jit
def _emit4(st, ev_id, a, b, c, d):
    n = _row(st, ev_id)
    if n >= 0:
        st.ev[n, EV_F0] = a
        st.ev[n, EV_F0 + 1] = b
        st.ev[n, EV_F0 + 2] = c
        st.ev[n, EV_F0 + 3] = d
    return n


@jit
def trace_mm_vmscan_wakeup_kswapd(st, nid, zid, order, gfp):
    _emit4(st, TP_WAKEUP_KSWAPD, nid, zid, order, gfp)


@jit
def trace_mm_vmscan_kswapd_wake(st, nid, zid, order):
    _emit4(st, TP_KSWAPD_WAKE, nid, zid, order, 0)


@jit
def trace_mm_vmscan_kswapd_sleep(st, nid):
    _emit4(st, TP_KSWAPD_SLEEP, nid, 0, 0, 0)


@jit
def trace_reclaim_begin(st, memcg, order, may_writepage, gfp, classzone_idx):
    _emit4(st, TP_MEMCG_BEGIN if memcg else TP_DIRECT_BEGIN, order, may_writepage, gfp, classzone_idx)


@jit
def trace_reclaim_end(st, memcg, nr_reclaimed):
    _emit4(st, TP_MEMCG_END if memcg else TP_DIRECT_END, nr_reclaimed, 0, 0, 0)


@jit
def trace_mm_vmscan_lru_isolate(st, classzone, order, nr_requested, nr_scanned, nr_skipped, nr_taken, lru):
    n = _emit4(st, TP_LRU_ISOLATE, 0, classzone, order, nr_requested)
    if n >= 0:
        st.ev[n, EV_F0 + 4] = nr_scanned
        st.ev[n, EV_F0 + 5] = nr_skipped
        st.ev[n, EV_F0 + 6] = nr_taken
        st.ev[n, EV_F0 + 7] = lru


@jit
def trace_mm_vmscan_lru_shrink_inactive(st, nid, stat, priority, file):
    """``stat``: nr_scanned, nr_reclaimed, dirty, writeback, congested, immediate, activate anon/file,
    ref_keep, unmap_fail (an int64 array of 10)."""
    n = _row(st, TP_SHRINK_INACTIVE)
    if n >= 0:
        st.ev[n, EV_F0] = nid
        for i in range(10):
            st.ev[n, EV_F0 + 1 + i] = stat[i]
        st.ev[n, EV_F0 + 11] = priority
        st.ev[n, EV_F0 + 12] = file


@jit
def trace_mm_vmscan_lru_shrink_active(st, nid, nr_taken, nr_active, nr_deactivated, nr_referenced, priority,
                                      file):
    n = _emit4(st, TP_SHRINK_ACTIVE, nid, nr_taken, nr_active, nr_deactivated)
    if n >= 0:
        st.ev[n, EV_F0 + 4] = nr_referenced
        st.ev[n, EV_F0 + 5] = priority
        st.ev[n, EV_F0 + 6] = file


@jit
def trace_mm_vmscan_inactive_list_is_low(st, nid, reclaim_idx, total_inactive, inactive, total_active, active,
                                         ratio, file):
    n = _emit4(st, TP_INACTIVE_LIST_IS_LOW, nid, reclaim_idx, total_inactive, inactive)
    if n >= 0:
        st.ev[n, EV_F0 + 4] = total_active
        st.ev[n, EV_F0 + 5] = active
        st.ev[n, EV_F0 + 6] = ratio
        st.ev[n, EV_F0 + 7] = file


@jit
def trace_mm_vmscan_writepage(st, pfn, file):
    _emit4(st, TP_WRITEPAGE, 0, pfn, file, 0)  # page pointer derived from pfn at conversion


@jit
def trace_mm_vmscan_throttled(st, nid, usec_timeout, usec_delayed, reason):
    _emit4(st, TP_THROTTLED, nid, usec_timeout, usec_delayed, reason)


@jit
def trace_writeback_wait(st, iff_congested, usec_timeout, usec_delayed):
    _emit4(st, TP_WAIT_IFF_CONGESTED if iff_congested else TP_CONGESTION_WAIT, usec_timeout, usec_delayed, 0, 0)


@jit
def trace_mark_victim(st, victim_pid):
    _emit4(st, TP_MARK_VICTIM, victim_pid, 0, 0, 0)


@jit
def trace_mm_shrink_slab_start(st, name, ptr, nid, nr, gfp, freeable, delta, total_scan, priority):
    n = _emit4(st, TP_SLAB_START, name, ptr, nid, nr)
    if n >= 0:
        st.ev[n, EV_F0 + 4] = gfp
        st.ev[n, EV_F0 + 5] = freeable
        st.ev[n, EV_F0 + 6] = delta
        st.ev[n, EV_F0 + 7] = total_scan
        st.ev[n, EV_F0 + 8] = priority


@jit
def trace_mm_shrink_slab_end(st, name, ptr, nid, freed, nr, new_nr, total_scan):
    n = _emit4(st, TP_SLAB_END, name, ptr, nid, nr)
    if n >= 0:
        st.ev[n, EV_F0 + 4] = new_nr
        st.ev[n, EV_F0 + 5] = total_scan
        st.ev[n, EV_F0 + 6] = freed


@jit
def trace_stap(st, ev_id, a, b, c):
    _emit4(st, ev_id, a, b, c, 0)


# ---------------------------------------------------------------- conversion


def _column(values: np.ndarray, typ: str, table: tuple[str, ...] | None) -> pa.Array:
    if typ == STR:
        assert table is not None
        dictionary = pa.array(list(table), type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(values.astype(np.int32)), dictionary)
    if typ == I32:
        return pa.array(values.astype(np.int32))
    if typ == PTR:
        return pa.array(values.astype(np.uint64))
    assert typ == I64
    return pa.array(values)


def to_tables(ev: np.ndarray, pids: np.ndarray, comms: list[str], meta: TraceMeta,
              shrinker_names: tuple[str, ...] = (), irq_flags: str = "....") -> EventTables:
    """Rows of the trace buffer -> EventTables (registry schemas, decoders applied)."""
    tables: dict[str, pa.Table] = {}
    ids = ev[:, EV_ID]
    seq = np.arange(1, len(ev) + 1, dtype=np.int64)
    unique_comms = sorted(set(comms))
    comm_code = np.array([unique_comms.index(c) for c in comms], np.int32)  # task -> dictionary code
    comm_dict = pa.array(unique_comms, type=pa.string())
    for ev_id, (name, payload) in TRACEPOINTS.items():
        rows = np.flatnonzero(ids == ev_id)
        if not len(rows):
            continue
        event = REGISTRY[name]
        sub = ev[rows]
        task = sub[:, EV_TASK]
        n = len(rows)
        head = [
            pa.array(sub[:, EV_TS]),
            pa.array(sub[:, EV_CPU].astype(np.int32)),
            pa.array(pids[task].astype(np.int32)),
            pa.array(pids[task].astype(np.int32)),
            pa.DictionaryArray.from_arrays(pa.array(comm_code[task]), comm_dict),
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([irq_flags])),
            pa.array(seq[rows]),
        ]
        cols: dict[str, pa.Array] = {}
        for k, (fname, table) in enumerate(payload):
            f = event.field(fname)
            values = sub[:, EV_F0 + k]
            if fname == "shrink":
                table = shrinker_names
            cols[fname] = _column(values, f.type, table)
        if name == "mm_vmscan_writepage":
            pfn = sub[:, EV_F0 + 1].astype(np.uint64)
            cols["page"] = pa.array(np.uint64(VMEMMAP_BASE) + pfn * np.uint64(64))
        tables[name] = pa.Table.from_batches([decoded_batch(event, head, cols)])
    return EventTables(tables, meta)
