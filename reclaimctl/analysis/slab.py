"""Slab shrinking's share of reclaim time, from the systemtap timings of the incident notes.

The script prints, per CPU, ``do_try_to_free_pages`` begin/end with the ns spent in it and in
``shrink_slab``, and per ``shrink_node`` call the same pair.  An episode is one
do_try_to_free_pages begin..end on one CPU, in line order.
"""

from __future__ import annotations

import pandas as pd

from ..events.tables import EventTables


def _stap(tables: EventTables, name: str, cols: list[str]) -> pd.DataFrame:
    df = tables[name].select(["line", "cpu", "comm", *cols]).to_pandas()
    df["comm"] = df["comm"].astype(object)
    return df.sort_values("line", kind="stable")


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
