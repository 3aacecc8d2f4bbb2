"""``reclaimctl stats``: views of reclaim on any event tables (parsed or, later, simulated)."""

from __future__ import annotations

import click

from .errors import UserError

FORMATS = click.Choice(["table", "json", "csv", "parquet"])


def output_options(f):  # type: ignore[no-untyped-def]
    """--format and --output, shared by every view."""
    f = click.option("--output", "-o", "output", type=click.Path(),
                     help="Write to this file (for parquet: a directory, one file per view).")(f)
    return click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
                        help="table (rich, plain text in a pipe), json (a line per view), csv, parquet.")(f)


def plot_option(f):  # type: ignore[no-untyped-def]
    return click.option("--plot", type=click.Path(dir_okay=False),
                        help="Also draw the view into this file (.png, .pdf, .svg; needs the plot extra).")(f)


def draw(fn, *args) -> None:  # type: ignore[no-untyped-def]
    from ..report.plots import PlotUnavailable

    try:
        fn(*args)
    except PlotUnavailable as exc:
        raise UserError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot draw {args[1]}: {exc}") from None


def renderer(fmt: str, output: str | None):  # type: ignore[no-untyped-def]
    from ..report.tables import Renderer

    try:
        out = Renderer(fmt, output)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    click.get_current_context().call_on_close(out.close)
    return out


class StatsGroup(click.Group):
    """``reclaimctl stats SOURCE`` is ``reclaimctl stats summary SOURCE``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["summary", *args]
        return super().parse_args(ctx, args)


@click.group("stats", cls=StatsGroup)
def stats() -> None:
    """Reclaim statistics of SOURCE; with no SOURCE, of the latest result of `reclaimctl parse`
    (kept in $RECLAIMCTL_HOME, by default ~/.local/share/reclaimctl).

    SOURCE is, in this order: `-` (stdin), a trace file (plain, .gz, .xz, .zst), a directory
    written by `parse -o`, or a sample name from traces/ (kernel-372, kernel-147).  A name that is
    both a path and a sample is an error; `file:NAME` or `sample:NAME` says which.

    \b
    reclaimctl stats kernel-372            the summary of every view
    reclaimctl stats per-cpu kernel-372    nr_reclaimed per CPU and second, histograms
    reclaimctl stats per-priority trace.log  what reclaim did at each priority, time at each
    reclaimctl stats episodes trace.log    reclaim episodes, latency percentiles and buckets
    reclaimctl stats latency trace.log     reclaim latency by process (as trace-vmscan-postprocess.pl)
    reclaimctl stats slab kernel-372       shrink_slab's share of reclaim time (systemtap)
    reclaimctl stats kswapd trace.log      wakes, awake time and pages per node
    reclaimctl stats writeback trace.log   writepage from reclaim, dirty pages met, throttling
    """


def _kinds(kind: str) -> tuple[str, ...]:
    return ("memcg", "direct") if kind == "all" else (kind,)


@stats.command("per-cpu")
@click.argument("source", required=False)
@click.option("--kind", type=click.Choice(["all", "memcg", "direct"]), default="all", show_default=True,
              help="Which reclaim calls (their *_reclaim_end events).")
@click.option("--interval", type=click.FloatRange(min=0.000001), default=1.0, show_default=True,
              help="Interval of trace time, in seconds.")
@click.option("--cpu", "cpus", multiple=True, type=int, help="Only these CPUs (repeatable).")
@click.option("--top", type=click.IntRange(min=1), help="Only the N CPUs with the most calls.")
@click.option("--window", nargs=2, type=float, help="Only calls that ended between these two timestamps (s).")
@output_options
@plot_option
def per_cpu(source: str | None, kind: str, interval: float, cpus: tuple[int, ...], top: int | None,
            window: tuple[float, float] | None, fmt: str, output: str | None, plot: str | None) -> None:
    """Per CPU and interval: calls, mean nr_reclaimed, LOW (< 32 pages), ALL and the histogram
    0..31, >=32; then the whole-trace histogram per CPU and overall."""
    from ..analysis.percpu import BUCKETS, per_cpu_histogram, per_cpu_intervals, reclaim_ends
    from .sources import load

    out = renderer(fmt, output)

    ends = reclaim_ends(load(source), _kinds(kind))
    if cpus:
        ends = ends[ends["cpu"].isin(cpus)]
    if window:
        lo, hi = (round(x * 1e9) for x in window)
        ends = ends[(ends["ts_ns"] >= lo) & (ends["ts_ns"] <= hi)]
    if top:
        busiest = ends["cpu"].value_counts().head(top).index
        ends = ends[ends["cpu"].isin(busiest)]
    if len(ends) == 0:
        out.note("no reclaim calls ended in this selection (no *_reclaim_end events)")
        return
    iv = per_cpu_intervals(ends, round(interval * 1e9))
    if plot:
        from ..report.plots import per_cpu_heatmap

        draw(per_cpu_heatmap, iv, plot, f"mean nr_reclaimed per CPU and {interval:g} s ({source or 'latest'})")
    # on a terminal only the buckets that occur; for scripts every bucket, so columns are stable
    nonzero = [b for b in BUCKETS if iv[b].sum() > 0] if fmt == "table" else list(BUCKETS)
    out.show(iv[["cpu", "interval_s", "calls", "mean", "low", "all", *nonzero]], "reclaim calls per CPU and interval")
    hist = per_cpu_histogram(ends)
    out.show(hist[["cpu", "calls", "mean", "low", "low_share"]], "whole trace per CPU")
    overall = hist.iloc[-1]
    bars = {"nr_reclaimed": BUCKETS, "calls": [int(overall[b]) for b in BUCKETS]}
    import pandas as pd

    out.show(pd.DataFrame(bars), "histogram of nr_reclaimed, all CPUs", bars="calls")


@stats.command("per-priority")
@click.argument("source", required=False)
@output_options
@plot_option
def per_priority_cmd(source: str | None, fmt: str, output: str | None, plot: str | None) -> None:
    """Per priority (12..0) and LRU: shrink_inactive calls, scanned, reclaimed, efficiency, activated,
    ref_keep, dirty, writeback, congested, immediate, unmap_fail; shrink_active taken/deactivated/
    referenced; isolate requested/taken/skipped; time spent at each priority inside episodes."""
    from ..analysis.priority import per_priority
    from .sources import load

    out = renderer(fmt, output)

    pp = per_priority(load(source))
    if plot and len(pp):
        from ..report.plots import priority_bars

        draw(priority_bars, pp, plot, f"reclaim per priority ({source or 'latest'})")
    if len(pp) == 0:
        out.note("no shrink_inactive/shrink_active events in this source")
        return
    out.show(pp[["priority", "lru", "time_ms", "inactive_calls", "nr_scanned", "nr_reclaimed", "efficiency",
             "nr_activate", "nr_ref_keep", "nr_dirty", "nr_writeback", "nr_congested", "nr_immediate",
             "nr_unmap_fail"]], "shrink_inactive per priority", bars="time_ms")
    cols = [c for c in pp.columns if c.startswith(("active_", "isolate_"))]
    out.show(pp[["priority", "lru", *cols]], "shrink_active and isolate per priority")


@stats.command("episodes")
@click.argument("source", required=False)
@click.option("--kind", type=click.Choice(["all", "memcg", "direct", "softlimit", "node"]), default="all",
              show_default=True)
@click.option("--slowest", type=click.IntRange(min=0), default=10, show_default=True)
@output_options
@plot_option
def episodes(source: str | None, kind: str, slowest: int, fmt: str, output: str | None, plot: str | None) -> None:
    """Reclaim episodes (begin/end pairs per task): latency percentiles and buckets, the slowest
    episodes, totals per task; unmatched begins and ends are reported."""
    from ..analysis.episodes import (
        BUCKET_LABELS,
        KINDS,
        LATENCY_COLUMNS,
        by_task,
        kswapd_episodes,
        latency_summary,
        reclaim_episodes,
    )
    from .sources import load

    out = renderer(fmt, output)

    kinds = tuple(KINDS) if kind == "all" else (kind,)
    tables = load(source)
    ep = reclaim_episodes(tables, kinds)
    if plot and len(ep.table):
        from ..report.plots import latency_cdf

        draw(latency_cdf, ep.table, plot, f"reclaim episode latency ({source or 'latest'})")
    if len(ep.table) == 0:
        out.note("no reclaim episodes (no matched *_reclaim_begin/_end pairs)")
    else:
        lat = latency_summary(ep.table)
        out.show(lat[LATENCY_COLUMNS], "episode latency")
        out.show(lat[["kind", *BUCKET_LABELS]], "episodes per latency bucket")
        cols = ["kind", "comm", "pid", "cpu", "start_ns", "duration_ns", "nr_reclaimed", "lowest_priority",
                "shrink_inactive", "shrink_active", "nr_scanned"]
        worst = ep.table.sort_values("duration_ns", ascending=False, kind="stable").head(slowest)
        out.show(worst[cols], "slowest episodes")
        out.show(by_task(ep.table, tables), "per task (as trace-vmscan-postprocess.pl)")
    ks = kswapd_episodes(tables)
    if len(ks) and kind == "all":
        ks_lat = latency_summary(ks.assign(nr_reclaimed=0))
        out.show(ks_lat[["kind", "episodes", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms"]],
             "kswapd awake episodes (wake .. sleep per node)")
    if len(ep.unmatched_begin) or len(ep.unmatched_end):
        out.note(f"unmatched: {len(ep.unmatched_begin)} begin lines without an end, {len(ep.unmatched_end)} end lines "
             "without a begin (the trace starts or ends inside them, or events were lost)")


@stats.command("latency")
@click.argument("source", required=False)
@click.option("--kind", type=click.Choice(["all", "memcg", "direct", "softlimit", "node"]), default="all",
              show_default=True)
@output_options
def latency(source: str | None, kind: str, fmt: str, output: str | None) -> None:
    """Reclaim latency by process (comm, pid), as trace-vmscan-postprocess.pl gives it: episodes,
    total/avg/max latency, pages scanned and reclaimed, pages written sync and async."""
    from ..analysis.episodes import KINDS, by_task, reclaim_episodes
    from .sources import load

    out = renderer(fmt, output)
    tables = load(source)
    ep = reclaim_episodes(tables, tuple(KINDS) if kind == "all" else (kind,))
    if len(ep.table) == 0:
        out.note("no reclaim episodes (no matched *_reclaim_begin/_end pairs)")
        return
    out.show(by_task(ep.table, tables), "reclaim latency by process")


@stats.command("slab")
@click.argument("source", required=False)
@output_options
def slab(source: str | None, fmt: str, output: str | None) -> None:
    """Slab shrinking: per shrinker from mm_shrink_slab_start/end (calls, objects to shrink, freed,
    deferred growth, time); shrink_slab's share of do_try_to_free_pages and shrink_node time per
    episode and CPU from systemtap output of the notes' script."""
    from ..analysis.slab import shrinkers, stap_episodes, stap_slab_per_cpu
    from .sources import load

    out = renderer(fmt, output)

    tables = load(source)
    sh = shrinkers(tables)
    if len(sh):
        out.show(sh, "shrinkers (mm_shrink_slab_start/end)", bars="time_ms")
    ep = stap_episodes(tables)
    if len(ep):
        out.show(ep, "do_try_to_free_pages episodes (systemtap)")
        out.show(stap_slab_per_cpu(ep), "shrink_slab share per CPU (systemtap)")
    if not len(ep) and not len(sh):
        out.note("no slab events in this source (mm_shrink_slab_start/end, or the systemtap timings)")


@stats.command("kswapd")
@click.argument("source", required=False)
@output_options
def kswapd(source: str | None, fmt: str, output: str | None) -> None:
    """Per node: kswapd wakes, awake time, pages scanned and reclaimed by kswapd; wakeup_kswapd by
    order."""
    from ..analysis.kswapd import kswapd_per_node, wakeups_by_order
    from .sources import load

    out = renderer(fmt, output)

    tables = load(source)
    nodes = kswapd_per_node(tables)
    if len(nodes) == 0:
        out.note("no kswapd events (mm_vmscan_kswapd_wake/sleep) in this source")
        return
    out.show(nodes, "kswapd per node")
    out.show(wakeups_by_order(tables), "wakeup_kswapd by node and order", bars="wakeups")


@stats.command("writeback")
@click.argument("source", required=False)
@output_options
def writeback_cmd(source: str | None, fmt: str, output: str | None) -> None:
    """Writeback from reclaim: writepage by reclaimer (kswapd, direct) and LRU type; dirty,
    writeback, congested and immediate pages met by shrink_inactive; throttling waits."""
    from ..analysis.kswapd import writeback
    from .sources import load

    out = renderer(fmt, output)

    pages, met, waits = writeback(load(source))
    if not len(pages) and not len(met) and not len(waits):
        out.note("no writeback events in this source (writepage, shrink_inactive, throttling)")
        return
    out.show(pages, "pages written by reclaim (mm_vmscan_writepage)")
    out.show(met, "pages met by shrink_inactive")
    out.show(waits, "reclaim throttling")


@stats.command("summary")
@click.argument("source", required=False)
@output_options
def summary(source: str | None, fmt: str, output: str | None) -> None:
    """The headline of each view."""
    from .sources import load

    out = renderer(fmt, output)
    if not show_summary(load(source), out):
        raise UserError(f"{source or 'the latest result'}: no reclaim events to summarize")


def show_summary(tables, out) -> bool:  # type: ignore[no-untyped-def]
    """Render the headline of each view; False if there was nothing to show."""
    import pandas as pd

    from ..analysis.episodes import LATENCY_COLUMNS, latency_summary, reclaim_episodes
    from ..analysis.kswapd import kswapd_per_node
    from ..analysis.percpu import per_cpu_histogram, reclaim_ends
    from ..analysis.priority import per_priority
    from ..analysis.slab import stap_episodes

    shown = False
    ep = reclaim_episodes(tables)
    if len(ep.table):
        out.show(latency_summary(ep.table)[LATENCY_COLUMNS], "episode latency")
        shown = True
    ends = reclaim_ends(tables)
    if len(ends):
        h = per_cpu_histogram(ends).iloc[-1]
        out.show(pd.DataFrame([{"calls": h["calls"], "mean_nr_reclaimed": h["mean"], "low": h["low"],
                            "low_share": h["low_share"]}]), "reclaim calls, all CPUs")
        shown = True
    st = stap_episodes(tables)
    if len(st):
        cols = ["cpu", "comm", "try_to_free_ns", "shrink_slab_ns", "slab_share", "shrink_node_calls", "priorities"]
        if len(st) <= 12:
            out.show(st[cols], "shrink_slab share (systemtap)")
        else:  # a long run: the totals, and the first calls
            out.show(pd.DataFrame([{
                "calls": len(st), "mean_ms": st.try_to_free_ns.mean() / 1e6,
                "max_ms": st.try_to_free_ns.max() / 1e6,
                "slab_share": st.shrink_slab_ns.sum() / max(st.try_to_free_ns.sum(), 1),
                "mean_shrink_node_calls": st.shrink_node_calls.mean()}]), "shrink_slab share (systemtap), all calls")
            out.show(st[cols].head(10), f"the first 10 of {len(st)} calls (`reclaimctl stats slab` lists them all)")
        shown = True
    pp = per_priority(tables, ep)
    if len(pp):
        by = pp.groupby("priority")[["time_ms", "nr_scanned", "nr_reclaimed"]].sum()
        lowest = int(by.index.min())
        total = float(by["time_ms"].sum())
        out.show(pd.DataFrame([{
            "lowest_priority": lowest, "scanned": int(by["nr_scanned"].sum()), "reclaimed": int(by["nr_reclaimed"].sum()),
            "time_at_lowest_share": float(by.loc[lowest, "time_ms"]) / total if total else None,
        }]), "priorities (see stats per-priority)")
        shown = True
    nodes = kswapd_per_node(tables)
    if len(nodes):
        out.show(nodes, "kswapd per node")
        shown = True
    return shown
