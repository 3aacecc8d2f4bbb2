"""One event table as a pandas frame: the columns asked for that the table has, comm as text."""

from __future__ import annotations

import pandas as pd

from ..events.tables import EventTables


def frame(tables: EventTables, name: str, cols: list[str]) -> pd.DataFrame:
    t = tables[name]
    df = t.select([c for c in cols if c in t.column_names]).to_pandas()
    if "comm" in df:
        df["comm"] = df["comm"].astype(object)
    return df
