"""Resolve a SOURCE argument: a path, ``-`` (stdin), a directory written by ``parse -o``, or the
name of a sample shipped in ``traces/``.

Order: ``-``; an existing path; a sample name.  A name that is both a path and a sample is an
error listing both; the prefixes ``file:`` and ``sample:`` say which (``trace:`` is either).
A sample name stands for every file ``traces/NAME.*`` (``kernel-372`` = the ftrace excerpt
``kernel-372.log`` and the systemtap output ``kernel-372.stap``); ``NAME.EXT`` picks one file.
The samples directory is ``$RECLAIMCTL_TRACES`` or the ``traces/`` folder of the checkout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError


@dataclass(frozen=True)
class Source:
    kind: str  # "stdin", "file", "tables", "sample"
    paths: tuple[str, ...]
    label: str


def traces_dir() -> Path:
    env = os.environ.get("RECLAIMCTL_TRACES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "traces"


def samples() -> dict[str, list[Path]]:
    """Sample name -> its files."""
    d = traces_dir()
    out: dict[str, list[Path]] = {}
    if d.is_dir():
        for p in sorted(d.iterdir()):
            if p.is_file() and not p.name.startswith(".") and p.suffix in (".log", ".stap", ".txt", ".gz", ".xz", ".zst"):
                out.setdefault(p.name.split(".")[0], []).append(p)
    return out


def resolve(arg: str) -> Source:
    for prefix in ("trace:", "file:", "sample:"):
        if arg.startswith(prefix):
            kind, name = prefix[:-1], arg[len(prefix):]
            break
    else:
        kind, name = "any", arg
    if name == "-" and kind != "sample":
        return Source("stdin", ("-",), "<stdin>")
    known = samples()
    if kind == "any" and os.path.exists(name) and name in known:
        files = ", ".join(str(p) for p in known[name])
        raise UserError(f"{name}: ambiguous: file:{name} (the path here) or sample:{name} ({files}); "
                        "say which with the prefix")
    if kind == "sample":
        if name in known:
            return Source("sample", tuple(str(p) for p in known[name]), name)
        raise UserError(f"{name}: no sample of that name (samples: {', '.join(sorted(known)) or 'none shipped'})")
    if os.path.exists(name):
        if os.path.isdir(name):
            from ..events.tables import is_saved_tables

            if is_saved_tables(name):
                return Source("tables", (name,), name)
            raise UserError(f"{name}: is a directory but not one written by `reclaimctl parse -o` (no meta.json)")
        return Source("file", (name,), name)
    if kind == "file":
        raise UserError(f"{name}: no such file")
    if name in known:
        return Source("sample", tuple(str(p) for p in known[name]), name)
    for files in known.values():
        for p in files:
            if p.name == name:
                return Source("sample", (str(p),), name)
    near = ", ".join(sorted(known)) or "none shipped"
    raise UserError(f"{name}: no such file, and no sample of that name (samples: {near})")


def load(arg: str | None):  # type: ignore[no-untyped-def]
    """The EventTables a SOURCE stands for (parsed, or loaded from a `parse -o` directory); with
    no SOURCE, the latest result of `reclaimctl parse`."""
    from ..events.tables import EventTables
    from ..ingest import ParseError, read

    if arg is None:
        from .. import store

        entry = store.latest()
        if entry is None:
            raise UserError("no SOURCE given and no earlier result: parse a trace first "
                            "(`reclaimctl parse TRACE`) or name one (a file, a `parse -o` directory, a sample)")
        import click

        click.echo(f"reclaimctl: {entry.get('note', '')}using the latest result: {entry['source']} "
                   f"(parsed {entry['time']}, {entry['path']})", err=True)
        return EventTables.load(entry["path"])
    src = resolve(arg)
    if src.kind == "tables":
        return EventTables.load(src.paths[0])
    import sys

    from ..report.progress import parse_progress

    parts = []
    try:
        for p in src.paths:
            size = os.path.getsize(p) if p != "-" and os.path.isfile(p) else None
            with parse_progress(p, size, enabled=sys.stderr.isatty()) as advance:
                parts.append(read(p, progress=advance))
    except ParseError as exc:
        raise UserError(str(exc)) from None
    return EventTables.merge(parts)
