"""The summary ``reclaimctl parse`` prints: what was read, and how every line was accounted for."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..events.tables import TraceMeta
from . import make_console


def _seconds(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e9:.6f}"


def print_parse_summary(meta: TraceMeta, console: Console | None = None) -> None:
    con = console or make_console()
    lines = meta.lines
    span = (meta.last_ns - meta.first_ns) / 1e9 if meta.first_ns is not None and meta.last_ns is not None else None
    con.print(f"[bold]{escape(meta.source)}[/bold]  format [cyan]{meta.format or '-'}[/cyan]"
              + (f" ({meta.compression})" if meta.compression else ""))
    kern = meta.kernel or {}
    notes = ", ".join(kern.get("notes", []))
    con.print(f"kernel: [cyan]{kern.get('range', 'unknown')}[/cyan]" + (f"  [dim]({notes})[/dim]" if notes else ""))
    if span is not None:
        con.print(f"time: {_seconds(meta.first_ns)} .. {_seconds(meta.last_ns)}  ({span:.6f} s)")
    if meta.cpus:
        con.print(f"CPUs: {len(meta.cpus)} ({_ranges(meta.cpus)})")
    con.print(
        f"lines: total {lines.get('total', 0)} = parsed {lines.get('parsed', 0)} + unknown_event "
        f"{lines.get('unknown_event', 0)} + malformed {lines.get('malformed', 0)} + non_event "
        f"{lines.get('non_event', 0)}"
    )
    non = {k: v for k, v in meta.non_event.items() if v}
    if non:
        con.print("  non_event: " + ", ".join(f"{k} {v}" for k, v in non.items()), style="dim")

    if meta.rows:
        t = Table(title="events", title_justify="left", show_edge=False)
        t.add_column("event")
        t.add_column("rows", justify="right")
        for name, n in sorted(meta.rows.items(), key=lambda kv: -kv[1]):
            t.add_row(name, f"{n}")
        con.print(t)
    if meta.top_tasks:
        t = Table(title="top tasks", title_justify="left", show_edge=False)
        t.add_column("comm")
        t.add_column("pid", justify="right")
        t.add_column("events", justify="right")
        for task in meta.top_tasks[:10]:
            pid = task["pid"]
            t.add_row(escape(task["comm"]), str(pid) if pid >= 0 else "-", str(task["events"]))
        con.print(t)
    for m in meta.malformed_samples[:5]:
        text = escape(f"{meta.source}:{m['line']}: {m['reason']}, got {m['text'].strip()[:120]!r}")
        con.print(f"[yellow]malformed[/yellow] {text}")
    for w in meta.warnings:
        con.print(f"[yellow]warning:[/yellow] {escape(w)}")


def _ranges(xs: list[int]) -> str:
    out: list[str] = []
    start = prev = xs[0]
    for x in xs[1:] + [None]:  # type: ignore[list-item]
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    return ",".join(out)


def print_run_summary(label: str, profile, sim, tables, wall_s: float, saved: str | None,  # type: ignore[no-untyped-def]
                      console: Console | None = None) -> None:
    """What a replay ran and how it went: profile, times, throughput, reclaim and OOM totals."""
    con = console or make_console()
    res = sim.result
    vm = sim.vmstat()
    over = f"  [dim]({escape(', '.join(profile.overrides))})[/dim]" if profile.overrides else ""
    con.print(f"[bold]{escape(label)}[/bold]")
    con.print(f"profile: [cyan]{profile.name}[/cyan] {escape(profile.kernel)}{over}")
    sim_s = res.simulated_ns / 1e9
    rate = f"{res.events / wall_s:,.0f} events/s, {sim_s / wall_s:,.2f} simulated s per s" if wall_s > 0 else ""
    con.print(f"simulated {sim_s:.3f} s in {wall_s:.2f} s wall: {res.events:,} workload events ({rate})")
    import pyarrow.compute as pc

    inactive = tables["mm_vmscan_lru_shrink_inactive"]
    scanned = pc.sum(inactive.column("nr_scanned")).as_py() or 0
    reclaimed = pc.sum(inactive.column("nr_reclaimed")).as_py() or 0
    con.print(f"reclaim: {scanned:,} pages scanned, {reclaimed:,} reclaimed (pgscan_kswapd {vm['pgscan_kswapd']:,}, "
              f"pgscan_direct {vm['pgscan_direct']:,}); calls: memcg "
              f"{tables['mm_vmscan_memcg_reclaim_begin'].num_rows:,}, direct "
              f"{tables['mm_vmscan_direct_reclaim_begin'].num_rows:,}; OOM kills {vm['oom_kills']}"
              + (f", failed allocations {res.failed_allocations}" if res.failed_allocations else ""))
    if saved:
        con.print(f"tables: {escape(saved)}  [dim](reclaimctl stats with no SOURCE reads them)[/dim]")
