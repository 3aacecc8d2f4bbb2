"""Per-priority view: what reclaim did at each sc->priority (12 down to 0), per LRU type, and how
long episodes stayed at each priority.  This is the view that shows a reclaim escalating."""

from __future__ import annotations

import pandas as pd

from ..events.tables import EventTables
from .episodes import Episodes, reclaim_episodes
from .frames import frame

INACTIVE_COUNTS = ["nr_scanned", "nr_reclaimed", "nr_activate", "nr_ref_keep", "nr_dirty", "nr_writeback",
                   "nr_congested", "nr_immediate", "nr_unmap_fail"]
ACTIVE_COUNTS = ["nr_taken", "nr_deactivated", "nr_referenced"]
ISOLATE_COUNTS = ["nr_requested", "nr_taken", "nr_skipped"]


def _lru(is_file: pd.Series) -> pd.Series:
    return is_file.map({True: "file", False: "anon"}).fillna("?")


def per_priority(tables: EventTables, episodes: Episodes | None = None) -> pd.DataFrame:
    """One row per (priority, lru): shrink_inactive calls and page counts, efficiency
    (reclaimed/scanned), shrink_active calls and counts, isolate requested/taken/skipped (an
    isolate belongs to the shrink call that follows it on the same task), and the time episodes
    spent at the priority (a gap between two events of an episode counts for the priority of the
    later one; the gap after the last event counts for its priority)."""
    head = ["ts_ns", "line", "pid", "priority", "is_file"]
    ina = frame(tables, "mm_vmscan_lru_shrink_inactive", head + INACTIVE_COUNTS)
    act = frame(tables, "mm_vmscan_lru_shrink_active", head + ACTIVE_COUNTS)
    ina["lru"], act["lru"] = _lru(ina["is_file"]), _lru(act["is_file"])
    keys = ["priority", "lru"]
    g = ina.groupby(keys)
    out = pd.DataFrame({"inactive_calls": g.size()})
    for c in INACTIVE_COUNTS:
        out[c] = g[c].sum()
    ga = act.groupby(keys)
    active = pd.DataFrame({"active_calls": ga.size()})
    for c in ACTIVE_COUNTS:
        active[f"active_{c}"] = ga[c].sum()
    out = out.join(active, how="outer")
    iso = _isolates(tables, ina, act)
    if len(iso):
        gi = iso.groupby(keys)
        out = out.join(pd.DataFrame({f"isolate_{c}": gi[c].sum() for c in ISOLATE_COUNTS}), how="outer")
    out = out.fillna(0)
    out = out.astype({c: "int64" for c in out.columns})
    out["efficiency"] = (out["nr_reclaimed"] / out["nr_scanned"]).where(out["nr_scanned"] > 0)
    time_ms = priority_time(ina, act, episodes if episodes is not None else reclaim_episodes(tables))
    out = out.join(time_ms, on=["priority", "lru"])
    out["time_ms"] = out["time_ms"].fillna(0.0)
    out = out.reset_index().sort_values(["priority", "lru"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def _isolates(tables: EventTables, ina: pd.DataFrame, act: pd.DataFrame) -> pd.DataFrame:
    iso = frame(tables, "mm_vmscan_lru_isolate", ["line", "pid", *ISOLATE_COUNTS])
    shrink = pd.concat([ina[["line", "pid", "priority", "lru"]], act[["line", "pid", "priority", "lru"]]])
    if len(iso) == 0 or len(shrink) == 0:
        return pd.DataFrame()
    m = pd.merge_asof(iso.sort_values("line"), shrink.sort_values("line").rename(columns={"line": "shrink_line"}),
                      left_on="line", right_on="shrink_line", by="pid", direction="forward")
    return m[m["priority"].notna()].astype({"priority": "int64"})


def priority_time(ina: pd.DataFrame, act: pd.DataFrame, episodes: Episodes) -> pd.DataFrame:
    """Milliseconds episodes spent at each (priority, lru): the gap before an event counts for the
    event's priority and list, the gap after an episode's last event for that event's."""
    empty = pd.DataFrame({"time_ms": pd.Series(dtype=float)},
                         index=pd.MultiIndex.from_arrays([[], []], names=["priority", "lru"]))
    ep = episodes.table
    cols = ["ts_ns", "line", "pid", "priority", "lru"]
    ev = pd.concat([ina[cols], act[cols]])
    if len(ep) == 0 or len(ev) == 0:
        return empty
    keys = ep[["pid", "start_line", "end_line", "start_ns", "end_ns"]].rename_axis("episode").reset_index()
    m = pd.merge_asof(ev.sort_values("line"), keys.sort_values("start_line"), left_on="line",
                      right_on="start_line", by="pid", direction="backward")
    m = m[m["end_line"].notna() & (m["line"] < m["end_line"])].sort_values(["episode", "line"], kind="stable")
    if len(m) == 0:
        return empty
    prev = m.groupby("episode")["ts_ns"].shift(1)
    m["dt"] = m["ts_ns"] - prev.fillna(m["start_ns"])
    last = m.groupby("episode").tail(1)
    tail = pd.DataFrame({"priority": last["priority"], "lru": last["lru"], "dt": last["end_ns"] - last["ts_ns"]})
    spent = pd.concat([m[["priority", "lru", "dt"]], tail]).groupby(["priority", "lru"])["dt"].sum() / 1e6
    return spent.rename("time_ms").to_frame()
