"""``reclaimctl events``: the schema registry as a user sees it."""

from __future__ import annotations

import click

from .errors import UserError


@click.command("events")
@click.argument("name", required=False)
def events(name: str | None) -> None:
    """List the events the registry knows; with NAME, show its columns and its formats by kernel."""
    import pyarrow as pa
    from rich.table import Table

    from ..events import REGISTRY
    from ..events.schema import HEADER_COLUMNS, format_version
    from ..report import make_console

    con = make_console()
    if name is None:
        t = Table(show_edge=False)
        for col in ("event", "subsystem", "also printed as", "what"):
            t.add_column(col)
        for ev in REGISTRY.values():
            t.add_row(ev.name, ev.subsystem, ", ".join(ev.aliases), ev.doc)
        con.print(t)
        return
    ev = REGISTRY.get(name) or REGISTRY.lookup(name)
    if ev is None:
        raise UserError(f"no event {name!r} in the registry (`reclaimctl events` lists them)")
    con.print(f"[bold]{ev.name}[/bold] ({ev.subsystem}): {ev.doc}")
    t = Table(title="columns", title_justify="left", show_edge=False)
    for col in ("column", "type", "printed as", "meaning"):
        t.add_column(col)
    for n, typ in HEADER_COLUMNS:
        t.add_row(n, "string (dictionary)" if pa.types.is_dictionary(typ) else str(typ), "line header", "")
    for f in ev.fields:
        t.add_row(f.name, f.type_name, "(leading token)" if f.positional else " / ".join(f.labels), f.doc)
    for d in ev.derived:
        t.add_row(d.name, d.type, "(decoded)", d.doc)
    con.print(t)
    t = Table(title="formats", title_justify="left", show_edge=False)
    for col in ("kernels", "printed labels", "note"):
        t.add_column(col)
    for v in ev.variants:
        lo, hi = v.range
        label = (v.name + ": ") if v.name else ""
        t.add_row(f"{format_version(lo)} - {format_version(hi)}", label + " ".join(v.keys), v.note)
    con.print(t)
