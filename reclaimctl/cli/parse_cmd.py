"""``reclaimctl parse``: trace text to typed tables, with a summary of what was read."""

from __future__ import annotations

import os
import sys

import click

from .errors import UserError
from .sources import resolve


@click.command("parse")
@click.argument("source")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), help="Write one Parquet file per event and meta.json into this directory.")
@click.option("--events", "events", help="Keep only these events or subsystems (comma-separated: mm_vmscan_lru_isolate,kmem,other).")
@click.option("--format", "fmt", type=click.Choice(["ftrace", "trace-cmd", "perf", "stap"]), help="Skip format detection.")
@click.option("--strict", is_flag=True, help="Stop at the first malformed line with file:line: expected ..., got ...")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata (accounting, kernel, time span) as JSON.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Parser threads.")
@click.option("--no-store", is_flag=True, help="Without -o, keep nothing (by default the tables go to the local store, "
              "where `reclaimctl stats` with no SOURCE finds the latest).")
def parse(source: str, out_dir: str | None, events: str | None, fmt: str | None, strict: bool, as_json: bool,
          workers: int, no_store: bool) -> None:
    """Parse SOURCE into event tables and print what it holds.

    SOURCE is a trace file (plain, .gz, .xz, .zst), `-` for stdin (streamed: a trace_pipe that
    never ends is parsed incrementally; Ctrl-C finishes the output), a directory written by
    `parse -o`, or a sample name from traces/ (kernel-372, kernel-147).  Formats: ftrace `trace`
    and `trace_pipe`, `trace-cmd report`, `perf script`, systemtap output.

    Every input line is accounted for: total = parsed + unknown_event + malformed + non_event.
    Events the registry does not know go to the `other_events` table with their raw payload.
    """
    from ..events.tables import EventTables
    from ..ingest.reader import ParseError, resolve_events
    from ..report.summary import print_parse_summary

    src = resolve(source)
    try:
        wanted = resolve_events(events.split(",")) if events else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if src.kind == "tables":
        tables = EventTables.load(src.paths[0])
        _emit(tables.meta, as_json, print_parse_summary)
        return
    from .. import store

    if out_dir is None and not no_store:
        out_dir = str(store.new_result(src.label))
    metas = []
    try:
        for path in src.paths:
            metas.append(_parse_one(path, out_dir, wanted, fmt, strict, workers, append=len(metas) > 0))
    except ParseError as exc:
        raise UserError(str(exc)) from None
    meta = metas[0] if len(metas) == 1 else EventTables.merge([EventTables({}, m) for m in metas]).meta
    if out_dir:
        with open(os.path.join(out_dir, "meta.json"), "w") as fh:
            fh.write(meta.to_json())
        store.remember(out_dir, source)
    _emit(meta, as_json, print_parse_summary)


def _emit(meta, as_json: bool, printer) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        click.echo(meta.to_json())
    else:
        printer(meta)


def _parse_one(path: str, out_dir: str | None, wanted, fmt, strict, workers, append: bool):  # type: ignore[no-untyped-def]
    from ..ingest.reader import TraceReader
    from ..report.progress import parse_progress
    from .writer import TableWriter

    reader = TraceReader(path, fmt=fmt, events=wanted, strict=strict, workers=workers)
    writer = TableWriter(out_dir, append=append) if out_dir else None
    size = os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
    try:
        with parse_progress(path, size, enabled=sys.stderr.isatty()) as advance:
            for batches in reader.batches():
                if writer:
                    writer.write(batches)
                advance(reader.bytes_read)
    finally:
        if writer:
            writer.close()
    return reader.meta
