"""Slab shrinking's share of reclaim time, from the systemtap timings of the incident notes.

The script prints, per CPU, ``do_try_to_free_pages`` begin/end with the ns spent in it and in
``shrink_slab``, and per ``shrink_node`` call the same pair.  An episode is one
do_try_to_free_pages begin..end on one CPU, in line order.
"""

from __future__ import annotations

import pandas as pd

from ..events.tables import EventTables
from .frames import frame


def _stap(tables: EventTables, name: str, cols: list[str]) -> pd.DataFrame:
    return frame(tables, name, ["line", "cpu", "comm", *cols]).sort_values("line", kind="stable")


def stap_episodes(tables: EventTables) -> pd.DataFrame:
    """One row per do_try_to_free_pages episode: cpu, comm, total and shrink_slab ns, their
    ratio, the number of shrink_node calls inside, the sum of their times and of their
    shrink_slab times, and the priorities they ran at."""
    ends = _stap(tables, "stap_try_to_free_pages_end", ["try_to_free_delta", "shrink_slab_delta"])
    begins = _stap(tables, "stap_try_to_free_pages_begin", [])
    nodes_b = _stap(tables, "stap_shrink_node_begin", ["priority"])
    nodes_e = _stap(tables, "stap_shrink_node_end", ["shrink_node_delta", "shrink_slab_delta"])
    rows = []
    for end in ends.itertuples(index=False):
        b = begins[(begins["cpu"] == end.cpu) & (begins["line"] < end.line)]
        start = int(b["line"].max()) if len(b) else -1
        inside = (nodes_e["cpu"] == end.cpu) & (nodes_e["line"] > start) & (nodes_e["line"] < end.line)
        ne = nodes_e[inside]
        nb = nodes_b[(nodes_b["cpu"] == end.cpu) & (nodes_b["line"] > start) & (nodes_b["line"] < end.line)]
        rows.append({
            "cpu": end.cpu, "comm": end.comm, "begin_line": start if start >= 0 else None, "end_line": end.line,
            "try_to_free_ns": end.try_to_free_delta, "shrink_slab_ns": end.shrink_slab_delta,
            "slab_share": end.shrink_slab_delta / end.try_to_free_delta if end.try_to_free_delta else None,
            "shrink_node_calls": len(ne), "shrink_node_ns": int(ne["shrink_node_delta"].sum()),
            "shrink_node_slab_ns": int(ne["shrink_slab_delta"].sum()),
            "priorities": f"{int(nb['priority'].max())}..{int(nb['priority'].min())}" if len(nb) else "",
        })
    return pd.DataFrame(rows)


def stap_slab_per_cpu(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per CPU: episodes, total reclaim ns, total shrink_slab ns and the share."""
    if len(episodes) == 0:
        return pd.DataFrame(columns=["cpu", "episodes", "try_to_free_ns", "shrink_slab_ns", "slab_share"])
    g = episodes.groupby("cpu", sort=True)
    out = pd.DataFrame({
        "episodes": g.size(), "try_to_free_ns": g["try_to_free_ns"].sum(), "shrink_slab_ns": g["shrink_slab_ns"].sum(),
    }).reset_index()
    out["slab_share"] = out["shrink_slab_ns"] / out["try_to_free_ns"]
    return out


def shrinkers(tables: EventTables) -> pd.DataFrame:
    """Per shrinker (its scan function) from mm_shrink_slab_start/end: calls, objects to shrink
    (the deferred work taken), cache items seen, objects freed, growth of the deferred count, and
    time from start to end (each start paired with the next end of the same task)."""
    cols = ["shrinker", "calls", "objects_to_shrink", "mean_cache_items", "freed", "deferred_growth", "time_ms"]
    st = tables["mm_shrink_slab_start"].select(
        ["ts_ns", "line", "pid", "shrink", "nr_objects_to_shrink", "cache_items", "total_scan"]).to_pandas()
    en = tables["mm_shrink_slab_end"].select(
        ["ts_ns", "line", "pid", "shrink", "unused_scan", "new_scan", "retval"]).to_pandas()
    if len(st) == 0 and len(en) == 0:
        return pd.DataFrame(columns=cols)
    for df in (st, en):
        df["shrink"] = df["shrink"].astype(str)
    paired = pd.merge_asof(en.sort_values("line"), st.sort_values("line")[["line", "pid", "ts_ns", "shrink"]]
                           .rename(columns={"line": "start_line", "ts_ns": "start_ns", "shrink": "start_shrink"}),
                           left_on="line", right_on="start_line", by="pid", direction="backward")
    paired = paired[paired["start_shrink"] == paired["shrink"]]
    paired = paired.drop_duplicates(subset=["pid", "start_line"], keep="first")  # a start pairs with one end
    gs = st.groupby("shrink")
    out = pd.DataFrame({
        "calls": gs.size(),
        "objects_to_shrink": gs["nr_objects_to_shrink"].sum(),
        "mean_cache_items": gs["cache_items"].mean(),
    })
    ge = en.groupby("shrink")
    out = out.join(pd.DataFrame({"freed": ge["retval"].sum(),
                                 "deferred_growth": (ge["new_scan"].sum() - ge["unused_scan"].sum())}), how="outer")
    gp = paired.groupby("shrink")
    out = out.join(((gp["ts_ns"].sum() - gp["start_ns"].sum()) / 1e6).rename("time_ms"), how="left")
    out = out.rename_axis("shrinker").reset_index()
    for c in ("calls", "objects_to_shrink", "freed", "deferred_growth"):
        out[c] = out[c].fillna(0).astype("int64")
    out["time_ms"] = out["time_ms"].fillna(0.0)
    return out.sort_values("time_ms", ascending=False, kind="stable").reset_index(drop=True)[cols]
