"""The Python API of the parser: ``read()`` returns EventTables, ``stream()`` yields batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from ..events import REGISTRY
from ..events.tables import EventTables
from .chunk import other_schema
from .reader import TraceReader, resolve_events


def _schema(name: str) -> pa.Schema:
    ev = REGISTRY.get(name)
    return ev.schema() if ev is not None else other_schema()


def read(
    path: str,
    fmt: str | None = None,
    events: Iterable[str] | None = None,
    strict: bool = False,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> EventTables:
    """Parse a trace (a path, ``.gz``/``.xz``/``.zst``, or ``-`` for stdin) into event tables.

    ``progress`` is called with the bytes read so far after each block.

    >>> tables = read("traces/kernel-372.log")
    >>> tables["mm_vmscan_memcg_reclaim_end"]["nr_reclaimed"].to_pylist()
    [33]
    """
    reader = TraceReader(path, fmt=fmt, events=resolve_events(events), strict=strict, workers=workers)
    parts: dict[str, list[pa.RecordBatch]] = defaultdict(list)
    for batches in reader.batches():
        for name, batch in batches.items():
            parts[name].append(batch)
        if progress is not None:
            progress(reader.bytes_read)
    tables = {
        name: pa.Table.from_batches(bs, schema=_schema(name))
        for name, bs in sorted(parts.items())
    }
    return EventTables(tables, reader.meta)


def stream(
    path: str, fmt: str | None = None, events: Iterable[str] | None = None, strict: bool = False
) -> tuple[TraceReader, Iterator[dict[str, pa.RecordBatch]]]:
    """A reader and its batch iterator, for inputs too large (or endless) to hold in memory."""
    reader = TraceReader(path, fmt=fmt, events=resolve_events(events), strict=strict)
    return reader, reader.batches()
