"""Pictures for the views where one reads better than a table (needs the `plot` extra:
``pip install -e '.[plot]'``).  PNG, PDF or SVG by the file's extension."""

from __future__ import annotations

import numpy as np
import pandas as pd


class PlotUnavailable(Exception):
    pass


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib: pip install -e '.[plot]'") from None
    return plt


def _save(fig, path: str) -> None:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.clf()


def latency_cdf(episodes: pd.DataFrame, path: str, title: str) -> None:
    """Cumulative distribution of episode latency per kind, log time axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for kind, g in episodes.groupby("kind"):
        ms = np.sort(g["duration_ns"].to_numpy(dtype=float) / 1e6)
        ax.step(ms, np.arange(1, len(ms) + 1) / len(ms), where="post", label=f"{kind} (n={len(ms)})")
    ax.set_xscale("log")
    ax.set_xlabel("episode latency (ms)")
    ax.set_ylabel("fraction of episodes")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


def priority_bars(pp: pd.DataFrame, path: str, title: str) -> None:
    """Time spent and pages scanned/reclaimed at each priority (12 on the left)."""
    plt = _pyplot()
    by_prio = pp.groupby("priority")[["time_ms", "nr_scanned", "nr_reclaimed"]].sum().sort_index(ascending=False)
    x = np.arange(len(by_prio))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    a1.bar(x, by_prio["time_ms"], color="tab:red")
    a1.set_ylabel("time at priority (ms)")
    a1.set_title(title)
    a2.bar(x - 0.2, by_prio["nr_scanned"], width=0.4, label="scanned")
    a2.bar(x + 0.2, by_prio["nr_reclaimed"], width=0.4, label="reclaimed")
    a2.set_ylabel("pages")
    a2.set_xticks(x, [str(p) for p in by_prio.index])
    a2.set_xlabel("priority")
    a2.legend()
    _save(fig, path)


def per_cpu_heatmap(intervals: pd.DataFrame, path: str, title: str) -> None:
    """Mean nr_reclaimed per CPU (rows) and interval (columns)."""
    plt = _pyplot()
    grid = intervals.pivot_table(index="cpu", columns="interval_s", values="mean", aggfunc="first")
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.3 * len(grid) + 1.5)))
    im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(grid.index)), [str(c) for c in grid.index])
    cols = list(grid.columns)
    step = max(1, len(cols) // 12)
    ax.set_xticks(range(0, len(cols), step), [f"{cols[i]:g}" for i in range(0, len(cols), step)], rotation=45)
    ax.set_xlabel("interval start (s of trace time)")
    ax.set_ylabel("CPU")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="mean nr_reclaimed")
    _save(fig, path)
