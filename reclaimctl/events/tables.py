"""EventTables: what the parser returns and the engine produces (event name -> Arrow table, plus
metadata), and its on-disk form (one Parquet file per event and ``meta.json``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .registry import OTHER, REGISTRY

META_FILE = "meta.json"


@dataclass
class TraceMeta:
    source: str = ""
    origin: str = "parsed"  # or "simulated"
    format: str = ""
    compression: str | None = None
    kernel: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # total = parsed + unknown_event + malformed + non_event
    non_event: dict[str, int] = field(default_factory=dict)
    lost_events: int = 0
    lost_by_cpu: dict[str, int] = field(default_factory=dict)
    buffer_overrun: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    cpus: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    top_tasks: list[dict[str, Any]] = field(default_factory=list)
    unknown_labels: list[dict[str, Any]] = field(default_factory=list)
    incomplete: dict[str, int] = field(default_factory=dict)
    malformed_samples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TraceMeta:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class EventTables(Mapping[str, pa.Table]):
    """A mapping from event name to table; missing known events read as empty tables."""

    def __init__(self, tables: Mapping[str, pa.Table], meta: TraceMeta | None = None) -> None:
        self._tables = dict(tables)
        self.meta = meta or TraceMeta()

    def __getitem__(self, name: str) -> pa.Table:
        if name in self._tables:
            return self._tables[name]
        ev = REGISTRY.get(name) or REGISTRY.lookup(name)
        if ev is not None:
            if ev.name in self._tables:
                return self._tables[ev.name]
            return ev.schema().empty_table()
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    @classmethod
    def merge(cls, parts: list[EventTables]) -> EventTables:
        """Several sources as one (a sample's ftrace and systemtap files): tables and counts add up."""
        if len(parts) == 1:
            return parts[0]
        tables: dict[str, list[pa.Table]] = {}
        for p in parts:
            for name, t in p._tables.items():
                tables.setdefault(name, []).append(t)
        merged = {n: pa.concat_tables(ts).unify_dictionaries() if len(ts) > 1 else ts[0] for n, ts in tables.items()}
        meta = TraceMeta(**{k: v for k, v in asdict(parts[0].meta).items()})
        meta.source = " + ".join(p.meta.source for p in parts)
        meta.format = " + ".join(p.meta.format for p in parts)
        for p in parts[1:]:
            m = p.meta
            for k, v in m.lines.items():
                meta.lines[k] = meta.lines.get(k, 0) + v
            for k, v in m.non_event.items():
                meta.non_event[k] = meta.non_event.get(k, 0) + v
            for k, v in m.rows.items():
                meta.rows[k] = meta.rows.get(k, 0) + v
            meta.lost_events += m.lost_events
            meta.warnings += m.warnings
            meta.malformed_samples += m.malformed_samples
            meta.cpus = sorted(set(meta.cpus) | set(m.cpus))
            meta.top_tasks = sorted(meta.top_tasks + m.top_tasks, key=lambda t: -t["events"])
            if m.first_ns is not None:
                meta.first_ns = m.first_ns if meta.first_ns is None else min(meta.first_ns, m.first_ns)
                meta.last_ns = m.last_ns if meta.last_ns is None else max(meta.last_ns or 0, m.last_ns or 0)
            if meta.kernel.get("range", "unknown") == "unknown":
                meta.kernel = m.kernel
        return cls(merged, meta)

    def save(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        for name, table in self._tables.items():
            pq.write_table(table, os.path.join(path, f"{name}.parquet"), compression="zstd")
        with open(os.path.join(path, META_FILE), "w") as fh:
            fh.write(self.meta.to_json())

    @classmethod
    def load(cls, path: str) -> EventTables:
        meta_path = os.path.join(path, META_FILE)
        if not os.path.isfile(meta_path):
            raise FileNotFoundError(f"{path}: no {META_FILE}; not a directory written by `reclaimctl parse -o`")
        with open(meta_path) as fh:
            meta = TraceMeta.from_json(fh.read())
        tables = {}
        for fname in sorted(os.listdir(path)):
            if fname.endswith(".parquet"):
                tables[fname[: -len(".parquet")]] = pq.read_table(os.path.join(path, fname))
        return cls(tables, meta)


def is_saved_tables(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, META_FILE))


__all__ = ["OTHER", "EventTables", "TraceMeta", "is_saved_tables"]
