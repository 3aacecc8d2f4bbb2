"""The registry compiled into the numpy tables that drive the parser's hot loop."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..events import REGISTRY, Event
from ..events.schema import I32, STR, TYPE_CODES

MAX_LABELS = 64  # label bits in a row mask
MAX_POS = 4
MAX_VARIANTS = 16

# Lines that are not events and not damaged: prefixes after leading white space.
NON_EVENT_PREFIXES = (
    "version = ",  # trace-cmd report
    "cpus=",
    "CPU ",  # trace-cmd: "CPU 3 is empty" (the lost-events marker is "CPU:3 [LOST ...]")
    "trace-cmd: ",
    "##### CPU ",  # ftrace buffer-start markers
    "Warning: ",  # perf script
)


MASK64 = 0xFFFFFFFFFFFFFFFF
LABEL_WIDTH = 32


def fasthash(data: bytes) -> int:
    """The hot loop's hash of event names and strings (kernel.fasthash), in Python."""
    h = 0xCBF29CE484222325 ^ len(data)
    i = 0
    while i + 8 <= len(data):
        h = ((h ^ int.from_bytes(data[i : i + 8], "little")) * 0x100000001B3) & MASK64
        h ^= h >> 32
        i += 8
    for b in data[i:]:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def label_order(ev: Event) -> list[str]:
    """Labels in the print order of the newest format first (the parser tries the next one in
    this order before searching), then labels only older formats print."""
    out: list[str] = []
    for v in sorted(ev.variants, key=lambda v: v.range[0], reverse=True):
        out += [k for k in v.keys if k not in out]
    out += [k for k in ev.label_to_field() if k not in out]
    return out


@dataclass(frozen=True)
class Compiled:
    events: tuple[Event, ...]  # index = event id in the hot loop
    labels: tuple[tuple[str, ...], ...]  # per event id: label text by label bit
    ev_hash: np.ndarray
    ev_idx: np.ndarray
    ev_name: np.ndarray
    ev_name_len: np.ndarray
    lab_bytes: np.ndarray
    lab_len: np.ndarray
    lab_slot: np.ndarray
    lab_type: np.ndarray
    lab_greedy: np.ndarray
    n_lab: np.ndarray
    pos_slot: np.ndarray
    pos_type: np.ndarray
    n_pos: np.ndarray
    n_slot: np.ndarray
    var_mask: np.ndarray
    n_var: np.ndarray
    lits: np.ndarray
    lit_len: np.ndarray
    max_slots: int
    # column layout for scatter, one row per event plus one for unknown events (a string: the name)
    slot_n: np.ndarray
    slot_kind: np.ndarray  # 0 int64/pointer, 1 int32, 2 string id
    slot_pos: np.ndarray  # position among the event's slots of the same kind
    kind_n: np.ndarray  # (events + 1, 3): slots of each kind

    def args(self) -> tuple[np.ndarray, ...]:
        return (
            self.lits, self.lit_len, self.ev_hash, self.ev_idx, self.ev_name, self.ev_name_len,
            self.lab_bytes, self.lab_len, self.lab_slot, self.lab_type,
            self.lab_greedy, self.n_lab, self.pos_slot, self.pos_type, self.n_pos, self.n_slot,
            self.var_mask, self.n_var,
        )


def _greedy(ev: Event, label: str) -> bool:
    """String values that can contain spaces: a task's comm."""
    f = ev.fields[ev.label_to_field()[label]]
    return f.type == STR and label == "comm"


@lru_cache(maxsize=1)
def compile_registry() -> Compiled:
    events = tuple(REGISTRY.text_events())
    n = len(events)
    lab_bytes = np.zeros((n, MAX_LABELS, LABEL_WIDTH), np.uint8)
    lab_len = np.zeros((n, MAX_LABELS), np.int32)
    lab_slot = np.zeros((n, MAX_LABELS), np.int32)
    lab_type = np.zeros((n, MAX_LABELS), np.int32)
    lab_greedy = np.zeros((n, MAX_LABELS), np.int32)
    n_lab = np.zeros(n, np.int32)
    pos_slot = np.zeros((n, MAX_POS), np.int32)
    pos_type = np.zeros((n, MAX_POS), np.int32)
    n_pos = np.zeros(n, np.int32)
    n_slot = np.zeros(n, np.int32)
    var_mask = np.zeros((n, MAX_VARIANTS), np.int64)
    n_var = np.zeros(n, np.int32)
    labels: list[tuple[str, ...]] = []
    names: dict[bytes, int] = {}
    for i, ev in enumerate(events):
        lab_of = ev.label_to_field()
        order = label_order(ev)
        if len(order) > MAX_LABELS:
            raise ValueError(f"{ev.name}: too many labels")
        labels.append(tuple(order))
        for j, lab in enumerate(order):
            slot = lab_of[lab]
            b = lab.encode()
            lab_bytes[i, j, : len(b)] = np.frombuffer(b, np.uint8)
            lab_len[i, j] = len(b)
            lab_slot[i, j] = slot
            lab_type[i, j] = TYPE_CODES[ev.fields[slot].type]
            lab_greedy[i, j] = _greedy(ev, lab)
        n_lab[i] = len(order)
        pos = [k for k, f in enumerate(ev.fields) if f.positional]
        for k, slot in enumerate(pos):
            pos_slot[i, k] = slot
            pos_type[i, k] = TYPE_CODES[ev.fields[slot].type]
        n_pos[i] = len(pos)
        n_slot[i] = len(ev.fields)
        for k, v in enumerate(ev.variants):
            m = 0
            for lab in v.keys:
                m |= 1 << order.index(lab)
            var_mask[i, k] = m if m < 2**63 else m - 2**64
        n_var[i] = len(ev.variants)
        for name in ev.names:
            names[name.encode()] = i
    size = 1
    while size < 4 * len(names):
        size *= 2
    ev_hash = np.zeros(size, np.uint64)
    ev_idx = np.full(size, -1, np.int32)
    width = max(len(b) for b in names)
    ev_name = np.zeros((size, width), np.uint8)
    ev_name_len = np.zeros(size, np.int32)
    for b, i in names.items():
        h = fasthash(b)
        k = h & (size - 1)
        while ev_hash[k] != 0:
            k = (k + 1) & (size - 1)
        ev_hash[k] = h
        ev_idx[k] = i
        ev_name[k, : len(b)] = np.frombuffer(b, np.uint8)
        ev_name_len[k] = len(b)
    lit_text = ["CPU:", " [LOST ", *NON_EVENT_PREFIXES]
    width = max(len(t) for t in lit_text)
    lits = np.zeros((len(lit_text), width), np.uint8)
    lit_len = np.zeros(len(lit_text), np.int32)
    for k, t in enumerate(lit_text):
        b = t.encode()
        lits[k, : len(b)] = np.frombuffer(b, np.uint8)
        lit_len[k] = len(b)
    max_slots = int(n_slot.max())
    slot_n = np.append(n_slot, 1).astype(np.int32)
    slot_kind = np.zeros((n + 1, max_slots), np.int32)
    slot_pos = np.zeros((n + 1, max_slots), np.int32)
    kind_n = np.zeros((n + 1, 3), np.int64)
    for i, ev in enumerate(events):
        for sl, f in enumerate(ev.fields):
            kind = 2 if f.type == STR else 1 if f.type == I32 else 0
            slot_kind[i, sl] = kind
            slot_pos[i, sl] = kind_n[i, kind]
            kind_n[i, kind] += 1
    slot_kind[n, 0] = 2  # an unknown event's name
    kind_n[n, 2] = 1
    return Compiled(
        events, tuple(labels), ev_hash, ev_idx, ev_name, ev_name_len, lab_bytes, lab_len, lab_slot, lab_type, lab_greedy, n_lab,
        pos_slot, pos_type, n_pos, n_slot, var_mask, n_var, lits, lit_len, max_slots,
        slot_n, slot_kind, slot_pos, kind_n,
    )
