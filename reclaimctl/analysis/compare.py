"""Compare two sources in the spirit of ``perf diff``: baseline A, new B, one row per metric with
the absolute and relative change, sorted by what changed most."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..events.tables import EventTables
from .episodes import latency_summary, reclaim_episodes
from .kswapd import kswapd_per_node
from .percpu import per_cpu_histogram, reclaim_ends
from .priority import per_priority
from .slab import stap_episodes

MIN_SAMPLES = 5  # fewer episodes than this on either side: no test is worth stating


def metrics(tables: EventTables) -> tuple[dict[str, float], np.ndarray]:
    """Flat metrics of one source, and its episode durations in ms (for the latency test)."""
    out: dict[str, float] = {}
    ep = reclaim_episodes(tables)
    durations = ep.table["duration_ns"].to_numpy(dtype=float) / 1e6
    for row in latency_summary(ep.table).to_dict("records"):
        k = row["kind"]
        for m in ("episodes", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"):
            out[f"episodes.{k}.{m}"] = float(row[m])
        out[f"episodes.{k}.pages_per_episode"] = row["pages_reclaimed"] / row["episodes"]
    if len(ep.table):
        lows = ep.table["lowest_priority"].dropna()
        if len(lows):
            out["episodes.lowest_priority"] = float(lows.min())
    out["episodes.unmatched"] = float(len(ep.unmatched_begin) + len(ep.unmatched_end))
    pp = per_priority(tables, ep)
    for row in pp.to_dict("records"):
        key = f"priority.{row['priority']}.{row['lru']}"
        out[f"{key}.time_ms"] = float(row["time_ms"])
        out[f"{key}.scanned"] = float(row["nr_scanned"])
        if row["efficiency"] == row["efficiency"]:  # not NaN
            out[f"{key}.efficiency"] = float(row["efficiency"])
    ends = reclaim_ends(tables)
    if len(ends):
        h = per_cpu_histogram(ends).iloc[-1]
        out["percpu.calls"] = float(h["calls"])
        out["percpu.mean_nr_reclaimed"] = float(h["mean"])
        out["percpu.low_share"] = float(h["low_share"])
        for bucket in ("0", "1", "2", "4", "8", "16", "31", ">=32"):  # the histogram's shift, as shares
            out[f"percpu.share_nr_reclaimed_{bucket}"] = float(h[bucket]) / float(h["calls"])
    nodes = kswapd_per_node(tables)
    if len(nodes):
        out["kswapd.wakes"] = float(nodes["wakes"].sum())
        out["kswapd.awake_ms"] = float(nodes["awake_ms"].sum())
        out["kswapd.nr_reclaimed"] = float(nodes["nr_reclaimed"].sum())
    st = stap_episodes(tables)
    if len(st):
        out["slab.share_of_reclaim"] = float(st["shrink_slab_ns"].sum() / st["try_to_free_ns"].sum())
        out["slab.reclaim_ms"] = float(st["try_to_free_ns"].sum() / 1e6)
        out["slab.shrink_slab_ms"] = float(st["shrink_slab_ns"].sum() / 1e6)
        out["slab.shrink_node_calls"] = float(st["shrink_node_calls"].sum())
    return out, durations


def compare(a: EventTables, b: EventTables) -> tuple[pd.DataFrame, LatencyTest]:
    ma, da = metrics(a)
    mb, db = metrics(b)
    rows = []
    for key in sorted(set(ma) | set(mb)):
        va, vb = ma.get(key), mb.get(key)
        delta = vb - va if va is not None and vb is not None else None
        ratio = vb / va if va not in (None, 0) and vb is not None else None
        rows.append({"metric": key, "A": va, "B": vb, "delta": delta, "ratio": ratio})
    df = pd.DataFrame(rows)
    change = [_change(r["A"], r["B"]) for r in rows]
    df = df.assign(_c=change).sort_values(["_c", "metric"], ascending=[False, True], kind="stable").drop(columns="_c")
    return df.reset_index(drop=True), mann_whitney(da, db)


def _change(a: float | None, b: float | None) -> float:
    """How much a metric changed: |log(B/A)|; appearing, vanishing or leaving 0 is the most."""
    if a is None or b is None or (a == 0) != (b == 0):
        return math.inf
    if a == 0 and b == 0:
        return 0.0
    if (a < 0) != (b < 0):
        return math.inf
    return abs(math.log(b / a))


@dataclass
class LatencyTest:
    n_a: int
    n_b: int
    u: float | None
    p_value: float | None
    verdict: str


def mann_whitney(a: np.ndarray, b: np.ndarray) -> LatencyTest:
    """Two-sided Mann-Whitney U test of episode latencies (normal approximation, tie-corrected)."""
    na, nb = len(a), len(b)
    if min(na, nb) < MIN_SAMPLES:
        return LatencyTest(na, nb, None, None,
                           f"too few episodes to tell (n={na} vs n={nb}; a test needs {MIN_SAMPLES} on each side)")
    ranks = pd.Series(np.concatenate([a, b])).rank().to_numpy()
    u = ranks[:na].sum() - na * (na + 1) / 2
    n = na + nb
    _, counts = np.unique(np.concatenate([a, b]), return_counts=True)
    tie = (counts**3 - counts).sum() / (n * (n - 1))
    sd = math.sqrt(na * nb / 12 * ((n + 1) - tie))
    z = (u - na * nb / 2) / sd if sd > 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    faster = "B slower" if u < na * nb / 2 else "B faster"
    verdict = f"{faster} (p={p:.3g})" if p < 0.05 else f"no significant difference (p={p:.3g})"
    return LatencyTest(na, nb, float(u), p, verdict)
