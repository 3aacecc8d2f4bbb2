"""Workloads taken from a trace: its recorded reclaim calls, replayed as demands of the same size, at
the same time, on the same CPU, by the same task, against the LRU state a scenario describes.

The calls are the trace's ``mm_vmscan_memcg_reclaim_begin`` events (order-0 charges: a demand of
SWAP_CLUSTER_MAX pages), or, in systemtap output of the notes' script, its
``do_try_to_free_pages`` begins (which carry the CPU and comm but no pid).
"""

from __future__ import annotations

import zlib

from ..events.tables import EventTables
from .kubepods import Demand


class NoWorkload(ValueError):
    """The trace holds nothing the engine can replay: one line saying what it holds instead."""


def _stap_pid(comm: str) -> int:
    """systemtap lines name the comm only: one stable made-up pid per comm (>= 4 000 000, above pid_max)."""
    return 4_000_000 + zlib.crc32(comm.encode()) % 1_000_000


def recorded_demands(tables: EventTables, label: str) -> list[Demand]:
    begins = tables.get("mm_vmscan_memcg_reclaim_begin")
    if begins is not None and begins.num_rows:
        df = begins.select(["ts_ns", "cpu", "pid", "comm"]).to_pandas()
        return [Demand(int(r.ts_ns), int(r.cpu), int(r.pid), str(r.comm)) for r in df.itertuples()]
    stap = tables.get("stap_try_to_free_pages_begin")
    if stap is not None and stap.num_rows:
        df = stap.select(["ts_ns", "cpu", "comm"]).to_pandas()
        # the script prints no time: calls without one are taken one second apart
        return [Demand(int(r.ts_ns) if r.ts_ns == r.ts_ns and r.ts_ns is not None else k * 1_000_000_000,
                       int(r.cpu), _stap_pid(str(r.comm)), str(r.comm)) for k, r in enumerate(df.itertuples())]
    direct = tables.get("mm_vmscan_direct_reclaim_begin")
    if direct is not None and direct.num_rows:
        raise NoWorkload(f"{label}: {direct.num_rows} direct reclaim calls but no memcg reclaim calls; replaying "
                         "recorded episodes covers memcg limit reclaim (a kubepods scenario); replay a scenario instead")
    rows = sum(t.num_rows for t in tables.values())
    raise NoWorkload(f"{label}: no recorded reclaim calls to replay (no mm_vmscan_memcg_reclaim_begin, no systemtap "
                     f"do_try_to_free_pages; {rows} event rows in all)")
