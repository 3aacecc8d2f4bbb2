"""Stream record batches into one Parquet file per event (bounded memory for endless input)."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from ..events.tables import META_FILE


class TableWriter:
    """Writes into ``out_dir``, first removing the Parquet files and meta.json an earlier parse
    left there (other files are not touched)."""

    def __init__(self, out_dir: str, append: bool = False) -> None:
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = out_dir
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._existing: dict[str, pa.Table] = {}
        for f in os.listdir(out_dir):
            path = os.path.join(out_dir, f)
            if f.endswith(".parquet"):
                if append:  # a second file of the same sample: keep what the first one wrote
                    self._existing[f[:-8]] = pq.read_table(path)
                else:  # the tables of an earlier parse into this directory
                    os.remove(path)
            elif f == META_FILE and not append:
                os.remove(path)

    def write(self, batches: dict[str, pa.RecordBatch]) -> None:
        for name, batch in batches.items():
            w = self._writers.get(name)
            if w is None:
                w = pq.ParquetWriter(os.path.join(self.out_dir, f"{name}.parquet"), batch.schema, compression="zstd")
                self._writers[name] = w
                if name in self._existing:
                    w.write_table(self._existing.pop(name))
            w.write_batch(batch)

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()
