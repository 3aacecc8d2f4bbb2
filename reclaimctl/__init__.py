"""reclaimctl: parse, replay and report on Linux page reclaim.

``reclaimctl.read(path)`` parses a trace into :class:`~reclaimctl.events.tables.EventTables`.
Heavy modules (numba, pyarrow) load on first use, so ``reclaimctl --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .ingest import read


def __getattr__(name: str) -> Any:
    if name == "read":
        from .ingest import read

        return read
    raise AttributeError(name)


__all__ = ["__version__", "read"]
