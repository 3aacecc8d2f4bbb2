"""Render result DataFrames: rich tables on a terminal (plain text in a pipe), or JSON, CSV or
Parquet for scripts, to stdout or a file."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import IO, Any

import pandas as pd

from . import make_console

BAR = "█"
FORMATS = ("table", "json", "csv", "parquet")


def _cell(v: Any, float_digits: int = 2) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{float_digits}f}"
    return str(v)


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:60] or "view"


class Renderer:
    """Where a command's result tables go.

    * table: rich tables (stdout, or ``output`` as plain text);
    * json: one JSON object per view and line, ``{"view": title, "rows": [...]}``;
    * csv: each view as CSV after a ``# title`` line;
    * parquet: ``output`` is a directory, one ``<view>.parquet`` per view.
    """

    def __init__(self, fmt: str = "table", output: str | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        if fmt == "parquet" and not output:
            raise ValueError("--format parquet needs --output DIR")
        self.fmt = fmt
        self.output = output
        self._file: IO[str] | None = None
        if output and fmt != "parquet":
            self._file = open(output, "w")  # noqa: SIM115 - closed by close()
        elif fmt == "parquet":
            os.makedirs(output, exist_ok=True)  # type: ignore[arg-type]

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def _out(self) -> IO[str]:
        return self._file or sys.stdout

    def show(self, df: pd.DataFrame, title: str, bars: str | None = None) -> None:
        """Print ``df``; ``bars`` names a numeric column drawn as a bar next to its value."""
        if self.fmt == "json":
            self._out.write(json.dumps({"view": title, "rows": json.loads(df.to_json(orient="records"))}) + "\n")
        elif self.fmt == "csv":
            self._out.write(f"# {title}\n")
            df.to_csv(self._out, index=False)
        elif self.fmt == "parquet":
            df.to_parquet(os.path.join(self.output, f"{slug(title)}.parquet"), index=False)  # type: ignore[arg-type]
        else:
            self._table(df, title, bars)

    def _table(self, df: pd.DataFrame, title: str, bars: str | None) -> None:
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=escape(title), title_justify="left", show_edge=False)
        for c in df.columns:
            numeric = pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
            t.add_column(escape(str(c)), justify="right" if numeric else "left")
        if bars:
            t.add_column("")
            top = max(float(df[bars].max()), 1.0) if len(df) else 1.0
        for row in df.itertuples(index=False):
            cells = [escape(_cell(v)) for v in row]
            if bars:
                cells.append(BAR * round(20 * float(getattr(row, bars)) / top))
            t.add_row(*cells)
        self._console().print(t)

    def _console(self) -> Any:
        if self._file is not None:
            from rich.console import Console

            return Console(file=self._file, width=1000, no_color=True)
        return make_console()

    def note(self, text: str) -> None:
        """A sentence about the result (a warning, a test verdict): with the tables in table format,
        on stderr otherwise so machine output stays parseable."""
        if self.fmt == "table":
            from rich.markup import escape

            self._console().print(escape(text))
        else:
            sys.stderr.write(text + "\n")
