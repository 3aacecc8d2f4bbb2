"""Reclaim episodes: begin/end pairs per task, with what happened inside them.

Pure functions from EventTables to pandas DataFrames; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..events.tables import EventTables
from .frames import frame

# kind -> (begin event, end event)
KINDS: dict[str, tuple[str, str]] = {
    "direct": ("mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end"),
    "memcg": ("mm_vmscan_memcg_reclaim_begin", "mm_vmscan_memcg_reclaim_end"),
    "softlimit": ("mm_vmscan_memcg_softlimit_reclaim_begin", "mm_vmscan_memcg_softlimit_reclaim_end"),
    "node": ("mm_vmscan_node_reclaim_begin", "mm_vmscan_node_reclaim_end"),
}

# latency buckets of the reports, in milliseconds: [lo, hi)
LATENCY_BUCKETS_MS: tuple[tuple[float, float], ...] = (
    (0, 1), (1, 5), (5, 10), (10, 100), (100, 500), (500, 1000), (1000, float("inf")),
)

BUCKET_LABELS = tuple(f"{lo:g}-{hi:g}ms" if hi != float("inf") else f">{lo:g}ms" for lo, hi in LATENCY_BUCKETS_MS)
LATENCY_COLUMNS = ["kind", "episodes", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "pages_reclaimed"]

_HEAD = ["ts_ns", "line", "cpu", "pid", "comm"]


@dataclass
class Episodes:
    """``table``: one row per matched episode; ``unmatched_begin``/``unmatched_end``: the rows that
    found no partner (a trace that starts or ends inside an episode, or lost events)."""

    table: pd.DataFrame
    unmatched_begin: pd.DataFrame
    unmatched_end: pd.DataFrame


def reclaim_episodes(tables: EventTables, kinds: tuple[str, ...] = tuple(KINDS)) -> Episodes:
    """Pair ``*_reclaim_begin``/``*_reclaim_end`` per task (pid) and kind in trace order.

    A begin followed (for the same task and kind) by an end is an episode; a begin followed by
    another begin, or by nothing, is an unmatched begin; an end with no open begin is an unmatched
    end.  Each episode carries what its task did between the two lines: shrink_inactive/
    shrink_active calls, pages scanned and reclaimed, the lowest priority reached (a shrink call
    inside nested episodes counts for the innermost one).
    """
    parts = []
    for kind in kinds:
        b, e = KINDS[kind]
        fb = frame(tables, b, _HEAD + ["order", "gfp_flags"])
        fb["kind"], fb["is_begin"] = kind, True
        fe = frame(tables, e, _HEAD + ["nr_reclaimed"])
        fe["kind"], fe["is_begin"] = kind, False
        parts += [fb, fe]
    ev = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    columns = ["kind", "pid", "comm", "cpu", "end_cpu", "start_ns", "end_ns", "duration_ns", "nr_reclaimed",
               "start_line", "end_line"]
    if ev is None:
        empty = pd.DataFrame(columns=columns)
        return Episodes(_inside(tables, empty), pd.DataFrame(columns=_HEAD + ["kind"]),
                        pd.DataFrame(columns=_HEAD + ["kind"]))
    for col in ("nr_reclaimed", "order", "gfp_flags"):  # a kind whose begins or ends are all missing
        if col not in ev:
            ev[col] = pd.NA
    # pairs per task and kind, so an episode of one kind nested in another (direct reclaim calling
    # the memcg soft-limit reclaim) pairs too
    ev = ev.sort_values(["pid", "kind", "ts_ns", "line"], kind="stable").reset_index(drop=True)
    nxt = ev.shift(-1)
    same = (nxt["pid"] == ev["pid"]) & (nxt["kind"] == ev["kind"])
    starts = ev["is_begin"] & same & (nxt["is_begin"] == False)  # noqa: E712 - shifted column holds NaN
    prev_is_start = starts.shift(1, fill_value=False)
    b = ev[starts]
    e = ev.loc[starts[starts].index + 1]
    episodes = pd.DataFrame({
        "kind": b["kind"].to_numpy(),
        "pid": b["pid"].to_numpy(),
        "comm": b["comm"].to_numpy(),
        "cpu": b["cpu"].to_numpy(),
        "end_cpu": e["cpu"].to_numpy(),
        "start_ns": b["ts_ns"].to_numpy(),
        "end_ns": e["ts_ns"].to_numpy(),
        "duration_ns": e["ts_ns"].to_numpy() - b["ts_ns"].to_numpy(),
        "nr_reclaimed": e["nr_reclaimed"].astype("int64").to_numpy(),
        "start_line": b["line"].to_numpy(),
        "end_line": e["line"].to_numpy(),
    })
    unmatched_begin = ev[ev["is_begin"] & ~starts][_HEAD + ["kind"]].reset_index(drop=True)
    unmatched_end = ev[~ev["is_begin"] & ~prev_is_start][_HEAD + ["kind"]].reset_index(drop=True)
    episodes = episodes.sort_values(["start_ns", "start_line"], kind="stable").reset_index(drop=True)
    return Episodes(_inside(tables, episodes), unmatched_begin, unmatched_end)


def _inside(tables: EventTables, episodes: pd.DataFrame) -> pd.DataFrame:
    """Add per-episode counts of the task's shrink events between its begin and end lines."""
    out = episodes.copy()
    zero = pd.Series(0, index=out.index, dtype="int64")
    out["shrink_inactive"], out["shrink_active"] = zero, zero.copy()
    out["nr_scanned"], out["nr_reclaimed_lru"] = zero.copy(), zero.copy()
    out["lowest_priority"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    frames = []
    for name, which in (("mm_vmscan_lru_shrink_inactive", "inactive"), ("mm_vmscan_lru_shrink_active", "active")):
        df = frame(tables, name, ["line", "pid", "nr_scanned", "nr_reclaimed", "priority"])
        df["which"] = which
        frames.append(df)
    shrink = pd.concat(frames, ignore_index=True)
    if len(out) == 0 or len(shrink) == 0:
        return out
    keys = out[["pid", "start_line", "end_line"]].rename_axis("episode").reset_index()
    m = pd.merge_asof(shrink.sort_values("line"), keys.sort_values("start_line"), left_on="line",
                      right_on="start_line", by="pid", direction="backward")
    m = m[m["end_line"].notna() & (m["line"] < m["end_line"])]
    inactive = m[m["which"] == "inactive"].groupby("episode")
    active = m[m["which"] == "active"].groupby("episode")
    out.loc[inactive.size().index, "shrink_inactive"] = inactive.size()
    out.loc[active.size().index, "shrink_active"] = active.size()
    out.loc[inactive.size().index, "nr_scanned"] = inactive["nr_scanned"].sum()
    out.loc[inactive.size().index, "nr_reclaimed_lru"] = inactive["nr_reclaimed"].sum()
    low = m.groupby("episode")["priority"].min()
    out.loc[low.index, "lowest_priority"] = low.astype("Int64")
    return out


def latency_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per kind: count, mean, p50/p90/p99/max (ms), and counts per latency bucket."""
    rows = []
    for kind, g in episodes.groupby("kind", sort=True):
        ms = g["duration_ns"].to_numpy(dtype=float) / 1e6
        row = {
            "kind": kind, "episodes": len(ms), "mean_ms": ms.mean(),
            "p50_ms": np.percentile(ms, 50), "p90_ms": np.percentile(ms, 90), "p99_ms": np.percentile(ms, 99),
            "max_ms": ms.max(), "pages_reclaimed": int(g["nr_reclaimed"].sum()),
        }
        for (lo, hi), label in zip(LATENCY_BUCKETS_MS, BUCKET_LABELS, strict=True):
            row[label] = int(((ms >= lo) & (ms < hi)).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def by_task(episodes: pd.DataFrame, tables: EventTables | None = None) -> pd.DataFrame:
    """Per (comm, pid) totals in the manner of trace-vmscan-postprocess.pl: episodes, total/avg/max
    latency, pages scanned and reclaimed, and (given the tables) pages the task wrote from reclaim,
    sync and async."""
    cols = ["comm", "pid", "episodes", "total_ms", "avg_ms", "max_ms", "nr_scanned", "nr_reclaimed",
            "writepage_sync", "writepage_async"]
    if len(episodes) == 0:
        return pd.DataFrame(columns=cols)
    g = episodes.groupby(["comm", "pid"], sort=False)
    out = pd.DataFrame({
        "episodes": g.size(),
        "total_ms": g["duration_ns"].sum() / 1e6,
        "avg_ms": g["duration_ns"].mean() / 1e6,
        "max_ms": g["duration_ns"].max() / 1e6,
        "nr_scanned": g["nr_scanned"].sum(),
        "nr_reclaimed": g["nr_reclaimed"].sum(),
    }).reset_index()
    out["writepage_sync"] = 0
    out["writepage_async"] = 0
    if tables is not None:
        wp = frame(tables, "mm_vmscan_writepage", ["comm", "pid", "is_sync"])
        if len(wp):  # by (comm, pid): a pid reused by another task is another task
            counts = wp.groupby(["comm", "pid", "is_sync"]).size().unstack(fill_value=0)
            keys = pd.MultiIndex.from_frame(out[["comm", "pid"]])
            for flag, col in ((True, "writepage_sync"), (False, "writepage_async")):
                if flag in counts.columns:
                    out[col] = counts[flag].reindex(keys).fillna(0).astype("int64").to_numpy()
    return out[cols].sort_values("total_ms", ascending=False, kind="stable").reset_index(drop=True)


def kswapd_episodes(tables: EventTables) -> pd.DataFrame:
    """kswapd wake..sleep per node, as episodes of kind "kswapd" (pid: the kswapd thread)."""
    wake = frame(tables, "mm_vmscan_kswapd_wake", ["ts_ns", "line", "cpu", "pid", "comm", "nid"]).assign(w=True)
    sleep = frame(tables, "mm_vmscan_kswapd_sleep", ["ts_ns", "line", "cpu", "pid", "comm", "nid"]).assign(w=False)
    ev = pd.concat([wake, sleep], ignore_index=True).sort_values(["nid", "ts_ns", "line"], kind="stable")
    ev = ev.reset_index(drop=True)  # row i + 1 is the next event of the node
    nxt = ev.shift(-1)
    start = ev["w"] & (nxt["nid"] == ev["nid"]) & (nxt["w"] == False)  # noqa: E712 - NaN after the shift
    b = ev[start]
    e = ev.loc[start[start].index + 1]
    return pd.DataFrame({
        "kind": "kswapd", "pid": b["pid"].to_numpy(), "comm": b["comm"].to_numpy(), "nid": b["nid"].to_numpy(),
        "start_ns": b["ts_ns"].to_numpy(), "end_ns": e["ts_ns"].to_numpy(),
        "duration_ns": e["ts_ns"].to_numpy() - b["ts_ns"].to_numpy(),
    })
