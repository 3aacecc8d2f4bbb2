"""Parse one buffer of trace text into per-event Arrow record batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..events import OTHER, Event
from ..events.flags import DECODERS
from ..events.schema import HEADER_COLUMNS, I32, I64, PTR, STR
from . import kernel as K
from .tables import Compiled, compile_registry

MAL_CAP = 256
UNK_CAP = 64


@dataclass
class Malformed:
    line: int  # 1-based in the source
    text: str
    reason: str


@dataclass
class ChunkResult:
    batches: dict[str, pa.RecordBatch]
    lines: int
    counters: np.ndarray
    malformed: list[Malformed]
    lost_cpu: dict[int, int]
    unknown_labels: dict[tuple[str, str], int]  # (event, label) -> count
    label_sets: dict[str, set[frozenset[str]]]
    incomplete: dict[str, int]
    extra: dict[str, object] = field(default_factory=dict)


class ChunkParser:
    """Reusable output arrays for parsing chunks of up to ``rows`` event lines each."""

    def __init__(self, rows: int = 1 << 17, strings: int = 1 << 14) -> None:
        self.tables: Compiled = compile_registry()
        self._alloc(rows, strings)

    def _alloc(self, rows: int, strings: int) -> None:
        t = self.tables
        n_ev = len(t.events)
        self.rows = rows
        self.row_i32 = np.zeros((rows, 6), np.int32)
        self.row_i64 = np.zeros((rows, 5), np.int64)
        self.vals = np.zeros((rows, max(t.max_slots, 1)), np.int64)
        self.strings = strings
        self.it_hash = np.zeros(4 * strings, np.uint64)
        self.it_id = np.zeros(4 * strings, np.int32)
        self.str_pos = np.zeros((strings, 2), np.int64)
        self.n_ev = n_ev

    def parse(self, buf: np.ndarray, n: int, final: bool, line_base: int) -> list[ChunkResult]:
        """Parse buf[:n] (whole lines, unless ``final``); one result per internal pass."""
        out: list[ChunkResult] = []
        start = 0
        while True:
            res, stop, status = self._pass(buf, n, start, final, line_base)
            if status == K.S_INTERN_FULL:
                self._alloc(self.rows, self.strings * 4)
                continue
            out.append(res)
            line_base += res.lines
            if status == K.S_DONE:
                return out
            start = stop

    def _pass(self, buf: np.ndarray, n: int, start: int, final: bool, line_base: int):
        t = self.tables
        counters = np.zeros(len(K.COUNTERS), np.int64)
        mal = np.zeros((MAL_CAP, 5), np.int64)
        lost_cpu = np.zeros(8192, np.int64)
        unk = np.zeros((UNK_CAP, 5), np.int64)
        seen = np.zeros((self.n_ev, 16), np.int64)
        n_seen = np.zeros(self.n_ev, np.int64)
        incomplete = np.zeros(self.n_ev, np.int64)
        state = np.zeros(4, np.int64)
        self.it_hash[:] = 0
        status, stop, nrows, lines = K.parse_chunk(
            buf, n, start, final, *t.args(),
            self.row_i32, self.row_i64, self.vals, counters, mal, lost_cpu, unk, seen, n_seen, incomplete,
            self.it_hash, self.it_id, self.str_pos, state,
        )
        if status == K.S_INTERN_FULL:
            return None, stop, status
        nstr = int(state[0])
        strs = np.array(
            [bytes(buf[s : s + ln]).decode("utf-8", "replace") for s, ln in self.str_pos[:nstr]] or [""],
            dtype=object,
        )[: max(nstr, 0)]
        batches = self._batches(buf, int(nrows), strs, line_base)
        res = ChunkResult(
            batches=batches,
            lines=int(lines),
            counters=counters,
            malformed=self._malformed(buf, mal, int(state[1]), line_base),
            lost_cpu={int(c): int(v) for c in np.flatnonzero(lost_cpu) for v in [lost_cpu[c]]},
            unknown_labels=self._unknown(buf, unk),
            label_sets={
                t.events[e].name: {
                    frozenset(lab for j, lab in enumerate(t.labels[e]) if (int(m) >> j) & 1)
                    for m in seen[e, : n_seen[e]]
                }
                for e in np.flatnonzero(n_seen)
            },
            incomplete={t.events[e].name: int(incomplete[e]) for e in np.flatnonzero(incomplete)},
        )
        return res, stop, status

    # ------------------------------------------------------------------ rows -> Arrow

    def _batches(self, buf: np.ndarray, nrows: int, strs: np.ndarray, line_base: int) -> dict[str, pa.RecordBatch]:
        if nrows == 0:
            return {}
        ev = self.row_i32[:nrows, K.R_EV]
        order = np.argsort(ev, kind="stable")
        sorted_ev = ev[order]
        ids, starts, counts = np.unique(sorted_ev, return_index=True, return_counts=True)
        out: dict[str, pa.RecordBatch] = {}
        for e, s, c in zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True):
            idx = order[s : s + c]
            if e < 0:
                out[OTHER] = self._other_batch(buf, idx, strs, line_base)
            else:
                event = self.tables.events[e]
                out[event.name] = self._event_batch(event, idx, strs, line_base)
        return out

    def _header(self, idx: np.ndarray, strs: np.ndarray, line_base: int) -> list[pa.Array]:
        r32 = self.row_i32
        r64 = self.row_i64
        tgid = r32[idx, K.R_TGID]
        tmask = tgid == K.MISSING32
        return [
            pa.array(r64[idx, K.R_TS]),
            pa.array(r32[idx, K.R_CPU]),
            pa.array(r32[idx, K.R_PID]),
            pa.array(tgid, mask=tmask) if tmask.any() else pa.array(tgid),
            _dict_column(r32[idx, K.R_COMM].astype(np.int64), strs),
            _dict_column(r32[idx, K.R_IRQ].astype(np.int64), strs),
            pa.array(r64[idx, K.R_LINE] + line_base),
        ]

    def _event_batch(self, event: Event, idx: np.ndarray, strs: np.ndarray, line_base: int) -> pa.RecordBatch:
        cols = self._header(idx, strs, line_base)
        fields: dict[str, pa.Array] = {}
        block = self.vals[idx, : len(event.fields)]
        for k, f in enumerate(event.fields):
            fields[f.name] = _typed_column(block[:, k], f.type, strs)
        for name in event.decoders:
            fields.update(DECODERS[name](fields))
        cols += [fields[f.name] for f in event.fields] + [fields[d.name] for d in event.derived]
        return pa.RecordBatch.from_arrays(cols, schema=event.schema())

    def _other_batch(self, buf: np.ndarray, idx: np.ndarray, strs: np.ndarray, line_base: int) -> pa.RecordBatch:
        cols = self._header(idx, strs, line_base)
        names = self.vals[idx, 0]
        ev_names = np.where(names == K.EV_FUNCTION, len(strs), names)
        event_col = _dict_column(ev_names, np.append(strs, "function") if len(strs) else np.array(["function"], object))
        starts = self.row_i64[idx, K.R_PSTART]
        ends = self.row_i64[idx, K.R_PEND]
        payload = _gather_strings(buf, starts, ends)
        return pa.RecordBatch.from_arrays(cols + [event_col, payload], schema=other_schema())

    def _malformed(self, buf: np.ndarray, mal: np.ndarray, nmal: int, line_base: int) -> list[Malformed]:
        out = []
        t = self.tables
        for line, s, e, code, aux in mal[: min(nmal, MAL_CAP)].tolist():
            text = bytes(buf[s:e]).decode("utf-8", "replace")
            out.append(Malformed(line + line_base, text, _reason(t, code, aux)))
        return out

    def _unknown(self, buf: np.ndarray, unk: np.ndarray) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for _, e, s, end, count in unk.tolist():
            if count:
                label = bytes(buf[s:end]).decode("utf-8", "replace")
                out[(self.tables.events[e].name, label)] = count
        return out


def other_schema() -> pa.Schema:
    dict_str = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([pa.field(n, t) for n, t in HEADER_COLUMNS] + [pa.field("event", dict_str), pa.field("payload", pa.string())])


def _reason(t: Compiled, code: int, aux: int) -> str:
    if code == K.M_NO_HEADER:
        return "expected an event line `comm-pid [cpu] [flags] seconds.micros: event: payload`"
    if code == K.M_TIMESTAMP:
        return "expected a timestamp `seconds.fraction:` after the CPU column"
    ev, j = divmod(aux, 64)
    name = t.events[ev].name if 0 <= ev < len(t.events) else "the event"
    if code == K.M_VALUE:
        if j != 63 and 0 <= ev < len(t.events) and j < len(t.labels[ev]):
            lab = t.labels[ev][j]
            f = t.events[ev].fields[t.events[ev].label_to_field()[lab]]
            kind = {I32: "an integer", I64: "an integer", PTR: "a hex pointer", STR: "a value"}[f.type]
            return f"expected {kind} for `{lab}` of {name}"
        return f"expected a value in the leading fields of {name}"
    if code == K.M_TRUNCATED:
        return f"line of {name} ends early (truncated): some of its fields are missing"
    if code == K.M_DANGLING:
        return f"words at the end of {name} that are no label of it (damaged or cut line)"
    if code == K.M_TOO_MANY_WORDS:
        return f"expected `label=value` pairs in {name}, got a run of unlabelled words"
    return "unreadable line"


def _dict_column(ids: np.ndarray, strs: np.ndarray) -> pa.Array:
    """Dictionary array over the strings actually used by this column (ids < 0: null)."""
    valid = ids >= 0
    n_strs = len(strs)
    if not valid.any():
        return pa.DictionaryArray.from_arrays(pa.nulls(len(ids), pa.int32()), pa.array([], pa.string()))
    used = np.bincount(ids[valid], minlength=n_strs) > 0
    remap = (np.cumsum(used) - 1).astype(np.int32)
    new = remap[np.where(valid, ids, 0)]
    indices = pa.array(new, mask=~valid) if not valid.all() else pa.array(new)
    return pa.DictionaryArray.from_arrays(indices, pa.array(strs[used], pa.string()))


def _typed_column(col: np.ndarray, typ: str, strs: np.ndarray) -> pa.Array:
    missing = col == K.MISSING
    any_missing = bool(missing.any())
    if typ == STR:
        return _dict_column(np.where(missing, -1, col), strs)
    if typ == I32:
        arr = col.astype(np.int32)
    elif typ == PTR:
        arr = col.view(np.uint64)
    else:
        arr = col
    if any_missing:
        return pa.array(arr, mask=missing)
    return pa.array(arr)


def _gather_strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    lengths = np.maximum(ends - starts, 0)
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = K.gather(buf, starts, lengths, int(offsets[-1]))
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


__all__ = ["I64", "ChunkParser", "ChunkResult", "Malformed", "other_schema"]
