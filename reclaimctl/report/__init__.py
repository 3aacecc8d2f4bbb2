"""Rendering: rich tables on a terminal, machine formats when asked.  Computes nothing."""

from __future__ import annotations

import os
import sys
from typing import Any


def make_console(stderr: bool = False, **kw: Any) -> Any:
    """A rich Console; when output is not a terminal (a pipe, a file) tables keep their natural
    width instead of being cut to 80 columns, so `reclaimctl ... | grep` finds whole names."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if not stream.isatty() and "COLUMNS" not in os.environ:
        kw.setdefault("width", 1000)
    return Console(stderr=stderr, **kw)
