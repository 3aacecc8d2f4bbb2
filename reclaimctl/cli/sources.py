"""Resolve a SOURCE argument: a path, ``-`` (stdin), a directory written by ``parse -o``, or the
name of a sample shipped in ``traces/``.

Order: ``-``; an existing path; a sample name.  ``trace:NAME`` forces the path-or-sample reading.
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
    forced = arg.startswith("trace:")
    name = arg[len("trace:"):] if forced else arg
    if name == "-":
        return Source("stdin", ("-",), "<stdin>")
    if os.path.exists(name):
        if os.path.isdir(name):
            from ..events.tables import is_saved_tables

            if is_saved_tables(name):
                return Source("tables", (name,), name)
            raise UserError(f"{name}: is a directory but not one written by `reclaimctl parse -o` (no meta.json)")
        return Source("file", (name,), name)
    known = samples()
    if name in known:
        return Source("sample", tuple(str(p) for p in known[name]), name)
    for files in known.values():
        for p in files:
            if p.name == name:
                return Source("sample", (str(p),), name)
    near = ", ".join(sorted(known)) or "none shipped"
    raise UserError(f"{name}: no such file, and no sample of that name (samples: {near})")


def load(arg: str):  # type: ignore[no-untyped-def]
    """The EventTables a SOURCE stands for (parsed, or loaded from a `parse -o` directory)."""
    from ..events.tables import EventTables
    from ..ingest import ParseError, read

    src = resolve(arg)
    if src.kind == "tables":
        return EventTables.load(src.paths[0])
    try:
        return EventTables.merge([read(p) for p in src.paths])
    except ParseError as exc:
        raise UserError(str(exc)) from None
