"""``reclaimctl compare A B``: two traces side by side, or two kernel profiles on the same workload."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .stats_cmd import output_options, renderer

if TYPE_CHECKING:
    from ..events.tables import EventTables


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--scenario", "-s", help="Profile mode: replay this scenario (file or shipped name) under A and B.")
@click.option("--workload", "-w", help="Profile mode: replay this trace's recorded reclaim calls under A and B "
              "(against --scenario's LRU state, default incident).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Profile mode: scenario or profile overrides "
              "applied to both runs (see `replay --help`).")
@output_options
@click.option("--top", type=click.IntRange(min=1), help="Only the N metrics that changed most.")
def compare(a: str, b: str, scenario: str | None, workload: str | None, sets: tuple[str, ...], fmt: str,
            output: str | None, top: int | None) -> None:
    """Compare baseline A with B: episode latencies, per-priority time and efficiency, per-CPU LOW
    share, shrink_slab share; rows sorted by how much they changed (|log B/A|), and a Mann-Whitney
    test of the episode latencies.

    A and B are traces (files, `parse -o` directories, sample names from traces/), unless they are
    written `profile:NAME` or --scenario or --workload is given: then they are kernel profiles, and
    the same workload is replayed under each (with no --scenario or --workload, the shipped incident
    scenario).  `trace:NAME` forces a trace.

    \b
    reclaimctl compare kernel-147 kernel-372                      the notes' two recorded samples
    reclaimctl compare kernel-147 kernel-372 --scenario incident  the incident simulated on each kernel
    reclaimctl compare profile:kernel-372 profile:kernel-372-fixed
    reclaimctl compare kernel-147 kernel-372 --workload kernel-372  the recorded 372 calls on each kernel
    """
    from ..analysis.compare import compare as run

    out = renderer(fmt, output)
    profile_mode = scenario is not None or workload is not None or a.startswith("profile:") or b.startswith("profile:")
    if profile_mode:
        ta, tb, what = _profile_runs(a, b, scenario, workload, sets)
        title = f"{what}: A = {a.removeprefix('profile:')}, B = {b.removeprefix('profile:')}"
    else:
        from .errors import UserError
        from .sources import load

        if sets:
            raise UserError("--set applies to profile mode (--scenario, --workload or profile:NAME)")
        ta, tb = load(a.removeprefix("trace:")), load(b.removeprefix("trace:"))
        title = f"A = {a}, B = {b}"
    df, test = run(ta, tb)
    if top:
        df = df.head(top)
    out.show(df, title)
    out.note(f"episode latency, A vs B: {test.verdict}")


def _profile_runs(a: str, b: str, scenario: str | None, workload: str | None,
                  sets: tuple[str, ...]) -> tuple[EventTables, EventTables, str]:
    """Tables of the same workload replayed under profiles A and B, and what the workload was."""
    from .errors import UserError
    from .replay_cmd import plan, simulate

    for name in (a, b):
        if name.startswith("trace:"):
            raise UserError(f"{name}: a trace in profile mode; A and B must both be profiles (or drop "
                            "--scenario/--workload to compare traces)")
    source = f"trace:{workload}" if workload else (scenario or None)
    p = plan(source, a.removeprefix("profile:"), scenario if workload else None, sets, None)
    runs = [simulate(q)[0].tables() for q in (p, p.under(b.removeprefix("profile:")))]
    return runs[0], runs[1], p.label
