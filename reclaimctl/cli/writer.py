"""Stream record batches into one Parquet file per event (bounded memory for endless input)."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq


class TableWriter:
    def __init__(self, out_dir: str, append: bool = False) -> None:
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = out_dir
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._existing: dict[str, pa.Table] = {}
        if append:  # a second file of the same sample: keep what the first one wrote
            for f in os.listdir(out_dir):
                if f.endswith(".parquet"):
                    self._existing[f[:-8]] = pq.read_table(os.path.join(out_dir, f))

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
