"""Parse one buffer of trace text into per-event Arrow record batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..events import OTHER, Event
from ..events.flags import decoded_batch
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
    tasks: dict[tuple[str, int], int] = field(default_factory=dict)  # (comm, pid) -> events
    cpus: set[int] = field(default_factory=set)
    ts_min: int | None = None
    ts_max: int | None = None


class ChunkParser:
    """Reusable output arrays for parsing chunks of up to ``rows`` event lines each."""

    def __init__(self, rows: int = 1 << 17, strings: int = 1 << 14) -> None:
        self.tables: Compiled = compile_registry()
        self._alloc(rows, strings)

    def _alloc(self, rows: int, strings: int) -> None:
        t = self.tables
        n_ev = len(t.events)
        self.rows = rows
        self.row_i32 = np.empty((rows, 6), np.int32)  # every field of a row is written before use
        self.row_i64 = np.empty((rows, 5), np.int64)
        self.vals = np.empty((rows, max(t.max_slots, 1)), np.int64)
        self.tmp = np.empty((4, rows), np.int64)  # per-pass scratch of scatter (comm/irq ids, payload range)
        self.strings = strings
        self.it_hash = np.zeros(4 * strings, np.uint64)
        self.it_id = np.zeros(4 * strings, np.int32)
        self.str_pos = np.zeros((strings, 2), np.int64)
        self.n_ev = n_ev

    def parse(self, buf: np.ndarray, n: int, final: bool, line_base: int = 0, start: int = 0) -> list[ChunkResult]:
        """Parse buf[start:n] (whole lines, unless ``final``), whose first line is line
        ``line_base + 1`` of the source; one result per internal pass."""
        out: list[ChunkResult] = []
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
        w64 = buf[: len(buf) // 8 * 8].view(np.uint64)
        status, stop, nrows, lines = K.parse_chunk(
            buf, w64, n, start, final, *t.args(),
            self.row_i32, self.row_i64, self.vals, counters, mal, lost_cpu, unk, seen, n_seen, incomplete,
            self.it_hash, self.it_id, self.str_pos, state,
        )
        if status == K.S_INTERN_FULL:
            return None, stop, status
        nstr = int(state[0])
        strs = np.empty(nstr, dtype=object)  # the chunk's interned strings, by id
        strs[:] = [bytes(buf[s : s + ln]).decode("utf-8", "replace") for s, ln in self.str_pos[:nstr].tolist()]
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
        self._row_stats(res, int(nrows), strs)
        return res, stop, status

    def _row_stats(self, res: ChunkResult, nrows: int, strs: np.ndarray) -> None:
        """Time span, CPUs and events per task of this pass."""
        if nrows == 0:
            return
        cpu_seen = np.zeros(8192, np.uint8)
        out = np.zeros(3, np.int64)
        size = 1 << 12
        while True:
            keys = np.zeros(size, np.int64)
            counts = np.zeros(size, np.int64)
            if K.row_stats(self.row_i32, self.row_i64, nrows, cpu_seen, keys, counts, out):
                break
            size *= 4
        res.ts_min, res.ts_max = int(out[0]), int(out[1])
        res.cpus = set(np.flatnonzero(cpu_seen).tolist())
        used = np.flatnonzero(counts)
        res.tasks = {
            (str(strs[k >> 32]) if 0 <= (k >> 32) < len(strs) else "", int(k & 0xFFFFFFFF)): int(c)
            for k, c in zip(keys[used].tolist(), counts[used].tolist(), strict=True)
        }

    # ------------------------------------------------------------------ rows -> Arrow

    def _batches(self, buf: np.ndarray, nrows: int, strs: np.ndarray, line_base: int) -> dict[str, pa.RecordBatch]:
        if nrows == 0:
            return {}
        t = self.tables
        n_ev = self.n_ev
        ev = self.row_i32[:nrows, K.R_EV]
        counts = np.bincount(np.where(ev >= 0, ev, n_ev), minlength=n_ev + 1).astype(np.int64)
        offsets = np.zeros(n_ev + 2, np.int64)
        np.cumsum(counts, out=offsets[1:])
        sizes = counts[:, None] * t.kind_n  # cells of each kind per event
        starts = np.zeros((n_ev + 1, 3), np.int64)
        np.cumsum(sizes[:-1], axis=0, out=starts[1:])
        keep64 = np.empty((2, nrows), np.int64)
        keep32 = np.empty((3, nrows), np.int32)
        tmp = self.tmp  # not kept by any table: the ids are remapped and the payloads copied
        flats = (
            np.empty(int(sizes[:, 0].sum()), np.int64),
            np.empty(int(sizes[:, 1].sum()), np.int32),
            np.empty(int(sizes[:, 2].sum()), np.int64),
        )
        nulls = np.zeros((n_ev + 1, self.vals.shape[1] + 2), np.int64)
        K.scatter(self.row_i32, self.row_i64, self.vals, nrows, offsets, counts, np.zeros(n_ev + 1, np.int64),
                  t.slot_n, t.slot_kind, t.slot_pos, starts[:, 0].copy(), starts[:, 1].copy(), starts[:, 2].copy(),
                  keep64, keep32, tmp, *flats, nulls)
        if line_base:
            keep64[1] += line_base
        out: dict[str, pa.RecordBatch] = {}
        for k in np.flatnonzero(counts).tolist():
            lo, hi = int(offsets[k]), int(offsets[k + 1])
            c = hi - lo

            def column(slot: int, k: int = k, c: int = c) -> np.ndarray:
                kind = int(t.slot_kind[k, slot])
                at = int(starts[k, kind]) + int(t.slot_pos[k, slot]) * c
                return flats[kind][at : at + c]

            head = _header(keep64[:, lo:hi], keep32[:, lo:hi], tmp[:, lo:hi], nulls[k], strs)
            if k == n_ev:
                out[OTHER] = _other_batch(buf, head, column(0), tmp[2, lo:hi], tmp[3, lo:hi], strs)
            else:
                event = t.events[k]
                cols = [column(s) for s in range(len(event.fields))]
                out[event.name] = _event_batch(event, head, cols, nulls[k], strs)
        return out

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


def _header(keep64: np.ndarray, keep32: np.ndarray, tmp: np.ndarray, nulls: np.ndarray,
            strs: np.ndarray) -> list[pa.Array]:
    tgid = keep32[2]
    return [
        pa.array(keep64[0]),
        pa.array(keep32[0]),
        pa.array(keep32[1]),
        pa.array(tgid, mask=tgid == K.MISSING32) if nulls[-1] else pa.array(tgid),
        _dict_column(tmp[0], strs),
        _dict_column(tmp[1], strs),
        pa.array(keep64[1]),
    ]


def _event_batch(event: Event, head: list[pa.Array], cols: list[np.ndarray], nulls: np.ndarray,
                 strs: np.ndarray) -> pa.RecordBatch:
    fields = {f.name: _typed_column(cols[k], f.type, strs, bool(nulls[k])) for k, f in enumerate(event.fields)}
    return decoded_batch(event, head, fields)


def _other_batch(buf: np.ndarray, head: list[pa.Array], names: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 strs: np.ndarray) -> pa.RecordBatch:
    all_strs = np.append(strs, "function")
    event_col = _dict_column(np.where(names == K.EV_FUNCTION, len(strs), names), all_strs)
    return pa.RecordBatch.from_arrays(head + [event_col, _gather_strings(buf, starts, ends)], schema=other_schema())


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
        return f"expected the remaining fields of {name} (the line ends early)"
    if code == K.M_DANGLING:
        return f"expected `label=value` pairs of {name}, the line ends in words that are no label of it"
    if code == K.M_TOO_MANY_WORDS:
        return f"expected `label=value` pairs in {name}, got a run of unlabelled words"
    return "expected a trace line"


def _dict_column(ids: np.ndarray, strs: np.ndarray) -> pa.Array:
    """Dictionary array over the strings this column uses (ids < 0, or MISSING: null)."""
    valid = ids >= 0
    all_valid = bool(valid.all())
    if not all_valid and not valid.any():
        return pa.DictionaryArray.from_arrays(pa.nulls(len(ids), pa.int32()), pa.array([], pa.string()))
    safe = ids if all_valid else np.where(valid, ids, 0)
    used = np.bincount(safe, minlength=len(strs)) > 0 if all_valid else np.bincount(ids[valid], minlength=len(strs)) > 0
    remap = (np.cumsum(used) - 1).astype(np.int32)
    new = remap[safe]
    indices = pa.array(new) if all_valid else pa.array(new, mask=~valid)
    return pa.DictionaryArray.from_arrays(indices, pa.array(strs[used], pa.string()))


def _typed_column(col: np.ndarray, typ: str, strs: np.ndarray, has_nulls: bool) -> pa.Array:
    if typ == STR:
        return _dict_column(col, strs)
    if typ == I32:
        return pa.array(col, mask=col == K.MISSING32) if has_nulls else pa.array(col)
    arr = col.view(np.uint64) if typ == PTR else col
    return pa.array(arr, mask=col == K.MISSING) if has_nulls else pa.array(arr)


def _gather_strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    lengths = np.maximum(ends - starts, 0)
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = K.gather(buf, starts, lengths, int(offsets[-1]))
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


__all__ = ["ChunkParser", "ChunkResult", "Malformed", "other_schema"]
