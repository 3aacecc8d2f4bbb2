"""The local store of results: ``parse`` keeps the tables it wrote so that ``stats`` with no
SOURCE can use the latest one.

The store lives in ``$RECLAIMCTL_HOME`` (default ``$XDG_DATA_HOME/reclaimctl``, that is
``~/.local/share/reclaimctl``): ``results/`` holds the last KEEP results parsed without ``-o``, and
``latest.json`` names the latest result wherever it was written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

KEEP = 5


def home() -> Path:
    env = os.environ.get("RECLAIMCTL_HOME")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "reclaimctl"


def new_result(label: str) -> Path:
    """A fresh directory in the store for a result named after its source."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(label.rstrip("/")) or "stdin")[:60]
    base = home() / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    path.mkdir(parents=True)
    return path


def remember(path: str | Path, source: str) -> None:
    """Make ``path`` (a directory written by parse) the latest result; keep KEEP managed ones."""
    h = home()
    h.mkdir(parents=True, exist_ok=True)
    entry = {"path": str(Path(path).resolve()), "source": source, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = h / "latest.json.tmp"
    tmp.write_text(json.dumps(entry))
    tmp.replace(h / "latest.json")
    results = h / "results"
    if results.is_dir():
        managed = sorted((p for p in results.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in managed[:-KEEP]:
            if old.resolve() != Path(entry["path"]):
                shutil.rmtree(old, ignore_errors=True)


def latest() -> dict[str, str] | None:
    """The latest result ({path, source, time}); if it was deleted, the newest result left in
    the store (its entry says so in ``note``)."""
    f = home() / "latest.json"
    try:
        entry = json.loads(f.read_text())
    except (OSError, ValueError):
        entry = None
    if entry is not None and (Path(entry.get("path", "")) / "meta.json").is_file():
        return entry
    results = home() / "results"
    kept = sorted((p for p in results.iterdir() if (p / "meta.json").is_file()), key=lambda p: p.stat().st_mtime) \
        if results.is_dir() else []
    if not kept:
        return None
    newest = kept[-1]
    note = f"the latest result {entry['path']} was deleted; " if entry else ""
    source = json.loads((newest / "meta.json").read_text()).get("source", newest.name)
    mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(newest.stat().st_mtime))
    return {"path": str(newest), "source": source, "time": mtime, "note": note}
