"""``reclaimctl compare A B``: two sources side by side."""

from __future__ import annotations

import click

from .stats_cmd import output_options, renderer


@click.command("compare")
@click.argument("a")
@click.argument("b")
@output_options
@click.option("--top", type=click.IntRange(min=1), help="Only the N metrics that changed most.")
def compare(a: str, b: str, fmt: str, output: str | None, top: int | None) -> None:
    """Compare baseline A with B (traces, `parse -o` directories or sample names): episode
    latencies, per-priority time and efficiency, per-CPU LOW share, shrink_slab share; rows sorted by
    how much they changed (|log B/A|), and a Mann-Whitney test of the episode latencies.

    \b
    reclaimctl compare kernel-147 kernel-372
    """
    from ..analysis.compare import compare as run
    from .sources import load

    out = renderer(fmt, output)
    df, test = run(load(a), load(b))
    if top:
        df = df.head(top)
    out.show(df, f"A = {a}, B = {b}")
    out.note(f"episode latency, A vs B: {test.verdict}")
