"""kswapd and writeback views."""

from __future__ import annotations

import pandas as pd

from ..events.tables import EventTables
from .frames import frame


def kswapd_per_node(tables: EventTables) -> pd.DataFrame:
    """Per node: wakes (kswapd_wake), awake time (each wake to the next sleep of the node), pages
    scanned and reclaimed by shrink_inactive calls of the kswapd threads."""
    wake = frame(tables, "mm_vmscan_kswapd_wake", ["ts_ns", "line", "nid"]).assign(what="wake")
    sleep = frame(tables, "mm_vmscan_kswapd_sleep", ["ts_ns", "line", "nid"]).assign(what="sleep")
    ev = pd.concat([wake, sleep]).sort_values(["nid", "ts_ns", "line"], kind="stable")
    rows: dict[int, dict[str, float]] = {}
    for nid, g in ev.groupby("nid"):
        awake, start = 0, None
        for ts, what in zip(g["ts_ns"], g["what"], strict=True):
            if what == "wake" and start is None:
                start = ts
            elif what == "sleep" and start is not None:
                awake += ts - start
                start = None
        rows[int(nid)] = {"wakes": int((g["what"] == "wake").sum()), "sleeps": int((g["what"] == "sleep").sum()),
                          "awake_ms": awake / 1e6, "still_awake": start is not None}
    ina = frame(tables, "mm_vmscan_lru_shrink_inactive", ["comm", "nid", "nr_scanned", "nr_reclaimed"])
    ina = ina[ina["comm"].astype(str).str.startswith("kswapd")]
    for nid, g in ina.groupby("nid"):
        r = rows.setdefault(int(nid), {"wakes": 0, "sleeps": 0, "awake_ms": 0.0, "still_awake": False})
        r["nr_scanned"] = int(g["nr_scanned"].sum())
        r["nr_reclaimed"] = int(g["nr_reclaimed"].sum())
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("nid").reset_index()
    for c in ("nr_scanned", "nr_reclaimed"):
        out[c] = out.get(c, pd.Series(0, index=out.index)).fillna(0).astype("int64")
    return out


def wakeups_by_order(tables: EventTables) -> pd.DataFrame:
    w = frame(tables, "mm_vmscan_wakeup_kswapd", ["nid", "order"])
    return w.groupby(["nid", "order"]).size().rename("wakeups").reset_index()


def _reclaimer(comm: pd.Series) -> pd.Series:
    return comm.astype(str).str.startswith("kswapd").map({True: "kswapd", False: "direct"})


def writeback(tables: EventTables) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(writepage from reclaim by reclaimer and LRU type; dirty/writeback/congested/immediate met
    by shrink_inactive; throttling waits by reason)."""
    wp = frame(tables, "mm_vmscan_writepage", ["comm", "is_file", "is_sync"])
    wp["reclaimer"] = _reclaimer(wp["comm"])
    wp["lru"] = wp["is_file"].map({True: "file", False: "anon"}).fillna("?")
    pages = wp.groupby(["reclaimer", "lru"]).size().rename("writepage").reset_index()
    ina = frame(tables, "mm_vmscan_lru_shrink_inactive",
              ["comm", "nr_scanned", "nr_dirty", "nr_writeback", "nr_congested", "nr_immediate"])
    ina["reclaimer"] = _reclaimer(ina["comm"])
    met = ina.groupby("reclaimer")[["nr_scanned", "nr_dirty", "nr_writeback", "nr_congested", "nr_immediate"]].sum()
    waits = []
    th = frame(tables, "mm_vmscan_throttled", ["reason", "usec_delayed"])
    if len(th):
        th["reason"] = th["reason"].astype(str)
        for reason, g in th.groupby("reason"):
            waits.append({"wait": reason, "count": len(g), "delayed_ms": g["usec_delayed"].sum() / 1e3})
    for name in ("writeback_congestion_wait", "writeback_wait_iff_congested"):
        w = frame(tables, name, ["usec_delayed"])
        if len(w):
            waits.append({"wait": name, "count": len(w), "delayed_ms": w["usec_delayed"].sum() / 1e3})
    return pages, met.reset_index(), pd.DataFrame(waits, columns=["wait", "count", "delayed_ms"])
