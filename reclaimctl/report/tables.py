"""Render result DataFrames: rich tables on a terminal, JSON or CSV for scripts."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pandas as pd

from . import make_console

BAR = "█"


def _cell(v: Any, float_digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float):
        return f"{v:.{float_digits}f}"
    return str(v)


def show(df: pd.DataFrame, title: str, fmt: str = "table", bars: str | None = None) -> None:
    """Print ``df``; ``bars`` names a numeric column drawn as a bar next to its value."""
    if fmt == "json":
        sys.stdout.write(json.dumps({"view": title, "rows": json.loads(df.to_json(orient="records"))}) + "\n")
        return
    if fmt == "csv":
        sys.stdout.write(f"# {title}\n")
        df.to_csv(sys.stdout, index=False)
        return
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False)
    for c in df.columns:
        t.add_column(escape(str(c)), justify="left" if df[c].dtype == object else "right")
    if bars:
        t.add_column("")
        top = max(float(df[bars].max()), 1.0) if len(df) else 1.0
    for row in df.itertuples(index=False):
        cells = [escape(_cell(v)) for v in row]
        if bars:
            cells.append(BAR * round(20 * float(getattr(row, bars)) / top))
        t.add_row(*cells)
    make_console().print(t)


def note(text: str, fmt: str = "table") -> None:
    if fmt == "table":
        from rich.markup import escape

        make_console().print(escape(text))
    else:
        sys.stderr.write(text + "\n")
