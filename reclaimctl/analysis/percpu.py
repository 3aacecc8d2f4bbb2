"""Per-CPU view of reclaim calls: the nr_reclaimed histograms of the incident notes, done properly.

For each CPU and interval of trace time: calls ended, their mean nr_reclaimed, LOW (calls that
reclaimed fewer than SWAP_CLUSTER_MAX pages), ALL, and the histogram with buckets 0..31 and >=32
(the notes' program folded 31 and >=32 into one bucket; here they are apart).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..events.tables import EventTables
from .episodes import KINDS
from .frames import frame

SWAP_CLUSTER_MAX = 32
BUCKETS = [str(i) for i in range(SWAP_CLUSTER_MAX)] + [f">={SWAP_CLUSTER_MAX}"]


def reclaim_ends(tables: EventTables, kinds: tuple[str, ...] = ("memcg", "direct")) -> pd.DataFrame:
    """The ``*_reclaim_end`` rows of the chosen kinds: ts_ns, cpu, pid, comm, kind, nr_reclaimed."""
    frames = []
    for kind in kinds:
        df = frame(tables, KINDS[kind][1], ["ts_ns", "cpu", "pid", "comm", "nr_reclaimed"])
        df["kind"] = kind
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("ts_ns", kind="stable").reset_index(drop=True)


def _histogram(nr: np.ndarray) -> np.ndarray:
    return np.bincount(np.minimum(nr, SWAP_CLUSTER_MAX), minlength=SWAP_CLUSTER_MAX + 1)


def per_cpu_intervals(ends: pd.DataFrame, interval_ns: int = 1_000_000_000) -> pd.DataFrame:
    """One row per (cpu, interval): interval start (s), calls, mean, LOW, ALL, histogram columns."""
    cols = ["cpu", "interval_s", "calls", "mean", "low", "all", *BUCKETS]
    if len(ends) == 0:
        return pd.DataFrame(columns=cols)
    df = ends.assign(interval=ends["ts_ns"] // interval_ns)
    rows = []
    for (cpu, iv), g in df.groupby(["cpu", "interval"], sort=True):
        nr = g["nr_reclaimed"].to_numpy(dtype=np.int64)
        h = _histogram(nr)
        rows.append([cpu, iv * interval_ns / 1e9, len(nr), nr.mean(), int((nr < SWAP_CLUSTER_MAX).sum()), len(nr), *h])
    return pd.DataFrame(rows, columns=cols)


def per_cpu_histogram(ends: pd.DataFrame) -> pd.DataFrame:
    """The whole-trace histogram per CPU, and a last row "all" over every CPU (the ``cpu`` column
    holds labels: CPU numbers as text, and "all")."""
    cols = ["cpu", "calls", "mean", "low", "low_share", *BUCKETS]
    rows = []
    groups = list(ends.groupby("cpu", sort=True)) + [("all", ends)]
    for cpu, g in groups:
        nr = g["nr_reclaimed"].to_numpy(dtype=np.int64)
        if len(nr) == 0:
            continue
        low = int((nr < SWAP_CLUSTER_MAX).sum())
        rows.append([str(cpu), len(nr), nr.mean(), low, low / len(nr), *_histogram(nr)])
    return pd.DataFrame(rows, columns=cols)
