"""systemtap output: the incident script's shrink_node / do_try_to_free_pages lines, and generic
``[cpu] ... key(value) key=value`` lines (see :mod:`reclaimctl.events.stap`)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pyarrow as pa

from ..events import REGISTRY
from . import kernel as K
from .chunk import ChunkResult, Malformed

_LINE = re.compile(r"^\s*\[(\d+)\]\s*(.*?)\s*$")
_PAIR = re.compile(r"(\w+)\(((?:[^()]|\([^()]*\))*)\)|(\w+)=(\S+)")
_NON_EVENT = re.compile(r"^\s*(WARNING|Pass \d|ERROR: |semantic error)")


def _int(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


def parse_stap(text: str, line_base: int) -> ChunkResult:
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    counters = np.zeros(len(K.COUNTERS), np.int64)
    malformed: list[Malformed] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, raw in enumerate(lines, start=line_base + 1):
        s = raw.strip()
        if not s:
            counters[K.C_BLANK] += 1
            continue
        if s.startswith("#"):
            counters[K.C_COMMENT] += 1
            continue
        m = _LINE.match(raw)
        if not m:
            if _NON_EVENT.match(raw):
                counters[K.C_HEADER] += 1
            else:
                counters[K.C_MALFORMED] += 1
                if len(malformed) < 256:
                    malformed.append(Malformed(i, raw, "expected a systemtap line `[cpu] ... key(value) ...`"))
            continue
        cpu = int(m.group(1))
        body = m.group(2)
        pairs: dict[str, str] = {}
        for pm in _PAIR.finditer(body):
            if pm.group(1):
                pairs[pm.group(1)] = pm.group(2)
            else:
                pairs[pm.group(3)] = pm.group(4)
        label = " ".join(_PAIR.sub(" ", body).split())
        comm = pairs.pop("comm", None)
        head = {"cpu": cpu, "comm": comm, "line": i}
        words = set(label.replace(",", " ").replace(":", " ").split())
        ints = {k: _int(v) for k, v in pairs.items()}
        if "do_try_to_free_pages" in words and "BEG" in words:
            rows["stap_try_to_free_pages_begin"].append(head)
        elif "do_try_to_free_pages" in words and "END" in words and "try_to_free_delta" in ints:
            rows["stap_try_to_free_pages_end"].append(
                head | {"try_to_free_delta": ints["try_to_free_delta"], "shrink_slab_delta": ints.get("shrink_slab_delta")}
            )
        elif "shrink_node" in words and "BEG" in words and "priority" in ints:
            rows["stap_shrink_node_begin"].append(
                head | {k: ints.get(k) for k in ("priority", "nr_scanned", "nr_reclaimed")}
            )
        elif "shrink_node_delta" in ints and not words - {""}:
            rows["stap_shrink_node_end"].append(
                head | {"shrink_node_delta": ints["shrink_node_delta"], "shrink_slab_delta": ints.get("shrink_slab_delta")}
            )
        else:
            for k, v in (pairs or {"": ""}).items():
                rows["stap_record"].append(
                    head | {"label": label, "key": k or None, "value": _int(v) if k else None, "text": v if k else None}
                )
        counters[K.C_PARSED] += 1
    counters[K.C_LINES] = len(lines)
    batches = {name: _batch(name, rs) for name, rs in rows.items()}
    res = ChunkResult(batches, len(lines), counters, malformed, {}, {}, {}, {})
    heads = [r for rs in rows.values() for r in rs]
    res.cpus = {int(r["cpu"]) for r in heads}  # type: ignore[call-overload]
    res.tasks = dict(Counter((str(r["comm"] or ""), -1) for r in heads))  # stap prints no pid
    return res


def _batch(name: str, rows: list[dict[str, object]]) -> pa.RecordBatch:
    schema = REGISTRY[name].schema()
    cols = []
    for f in schema:
        vals = [r.get(f.name) for r in rows]
        if pa.types.is_dictionary(f.type):
            cols.append(pa.array(vals, pa.string()).dictionary_encode())
        else:
            cols.append(pa.array(vals, f.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)
