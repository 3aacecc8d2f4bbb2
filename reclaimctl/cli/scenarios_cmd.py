"""``reclaimctl scenarios``: the shipped scenario files."""

from __future__ import annotations

import click

from .errors import UserError


@click.command("scenarios")
@click.argument("name", required=False)
def scenarios(name: str | None) -> None:
    """List the scenarios shipped in traces/scenarios/ (one line each), or print NAME's file.

    Replay one with `reclaimctl replay NAME`; copy a file to start your own.
    """
    from ..report import make_console
    from ..workload.scenario import GENERATORS, ScenarioError, load, shipped

    known = shipped()
    if name:
        if name not in known:
            raise UserError(f"{name}: no shipped scenario of that name (shipped: {', '.join(known) or 'none'})")
        click.echo(known[name].read_text(), nl=False)
        return
    con = make_console()
    from rich.table import Table

    t = Table(show_edge=False)
    for col in ("scenario", "profile", "workload", "description"):
        t.add_column(col)
    for key in known:
        try:
            s, _ = load(key)
        except ScenarioError as exc:
            raise UserError(str(exc)) from None
        t.add_row(key, s.profile, ", ".join(g.kind for g in s.generators), s.description)
    con.print(t)
    con.print(f"[dim]generators: {', '.join(GENERATORS)}[/dim]")
