"""The registry compiled into the numpy tables that drive the parser's hot loop."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..events import REGISTRY, Event
from ..events.schema import STR, TYPE_CODES

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


def fnv(data: bytes, h: int = 0xCBF29CE484222325) -> int:
    """FNV-1a 64, the hash the hot loop uses for event names, labels and strings."""
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


@dataclass(frozen=True)
class Compiled:
    events: tuple[Event, ...]  # index = event id in the hot loop
    labels: tuple[tuple[str, ...], ...]  # per event id: label text by label bit
    ev_hash: np.ndarray
    ev_idx: np.ndarray
    lab_hash: np.ndarray
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

    def args(self) -> tuple[np.ndarray, ...]:
        return (
            self.lits, self.lit_len, self.ev_hash, self.ev_idx, self.lab_hash, self.lab_slot, self.lab_type,
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
    lab_hash = np.zeros((n, MAX_LABELS), np.uint64)
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
    names: dict[int, int] = {}
    for i, ev in enumerate(events):
        lab_of = ev.label_to_field()
        order = list(lab_of)
        if len(order) > MAX_LABELS:
            raise ValueError(f"{ev.name}: too many labels")
        labels.append(tuple(order))
        for j, lab in enumerate(order):
            slot = lab_of[lab]
            lab_hash[i, j] = fnv(lab.encode())
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
            h = fnv(name.encode())
            if h in names:
                raise ValueError(f"event name hash collision: {name}")
            names[h] = i
    size = 1
    while size < 4 * len(names):
        size *= 2
    ev_hash = np.zeros(size, np.uint64)
    ev_idx = np.full(size, -1, np.int32)
    for h, i in names.items():
        k = h & (size - 1)
        while ev_hash[k] != 0:
            k = (k + 1) & (size - 1)
        ev_hash[k] = h
        ev_idx[k] = i
    lit_text = ["CPU:", " [LOST ", *NON_EVENT_PREFIXES]
    width = max(len(t) for t in lit_text)
    lits = np.zeros((len(lit_text), width), np.uint8)
    lit_len = np.zeros(len(lit_text), np.int32)
    for k, t in enumerate(lit_text):
        b = t.encode()
        lits[k, : len(b)] = np.frombuffer(b, np.uint8)
        lit_len[k] = len(b)
    return Compiled(
        events, tuple(labels), ev_hash, ev_idx, lab_hash, lab_slot, lab_type, lab_greedy, n_lab,
        pos_slot, pos_type, n_pos, n_slot, var_mask, n_var, lits, lit_len, int(n_slot.max()),
    )
