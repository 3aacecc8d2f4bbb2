"""The building blocks of the event schema registry.

An :class:`Event` names a tracepoint, its fields (one Arrow column each) and the printk variants the
kernel used for it over time.  The parser reads text into these columns; the engine appends rows
into the same columns and uses a variant to print text in a given kernel's format.  Nothing here
imports anything else of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# Value types a field can hold.  The parser's hot loop knows only these four.
I32 = "i32"  # %d, %hd, %u printed in decimal (or 0x-prefixed hex)
I64 = "i64"  # %ld, %lu, %lld, pfns (decimal, or 0x%lx from ~5.1x)
PTR = "ptr"  # %p / %lx pointers and inode numbers: hex digits, with or without 0x
STR = "str"  # symbolic strings (gfp flags, lru names, comm, shrinker symbols): dictionary-encoded
BOOL = "bool"  # derived columns only

TYPE_CODES = {I32: 0, I64: 1, PTR: 2, STR: 3}

ARROW_TYPES: dict[str, pa.DataType] = {
    I32: pa.int32(),
    I64: pa.int64(),
    PTR: pa.uint64(),
    STR: pa.dictionary(pa.int32(), pa.string()),
    BOOL: pa.bool_(),
}

TYPE_NAMES = {I32: "int32", I64: "int64", PTR: "uint64 (hex)", STR: "string (dictionary)", BOOL: "bool"}

# Columns every event table starts with (the line header of ftrace / perf / trace-cmd).
HEADER_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("ts_ns", pa.int64()),  # trace clock in nanoseconds (seconds.micro/nano as printed)
    ("cpu", pa.int32()),
    ("pid", pa.int32()),  # the task (thread) id as ftrace prints it
    ("tgid", pa.int32()),  # from the `( tgid)` column (record-tgid) or perf's pid/tid; else null
    ("comm", ARROW_TYPES[STR]),
    ("irq_flags", ARROW_TYPES[STR]),  # the latency column (`dN..`), null when absent
    ("line", pa.int64()),  # 1-based line number in the source
)

# Vendor kernels whose tracepoints mix formats of several upstream versions: id -> (name, base).
VENDOR_KERNELS: dict[str, tuple[str, tuple[int, int]]] = {
    "rhel8-305": ("RHEL 8 from 4.18.0-305 (4.18 with 5.x reclaim backports)", (4, 18)),
}

# Version numbers are compared as tuples; LATEST closes an open range.
LATEST = (99, 0)


def parse_version(text: str | None) -> tuple[int, int]:
    if text is None:
        return LATEST
    parts = text.split(".")
    if len(parts) >= 3 and parts[0] == "2":  # 2.6.36 -> (2, 636) keeps ordering below 3.0
        return (2, int(parts[1]) * 100 + int(parts[2]))
    return (int(parts[0]), int(parts[1]))


def format_version(v: tuple[int, int]) -> str:
    if v == LATEST:
        return "latest"
    if v[0] == 2:
        return f"2.{v[1] // 100}.{v[1] % 100}"
    return f"{v[0]}.{v[1]}"


@dataclass(frozen=True)
class Field:
    """One column of an event table.

    ``keys`` are the labels the kernel printed for this value over time (aliases are how renames
    are normalized: ``classzone_idx``, ``classzone`` and ``highest_zoneidx`` all fill one column).
    A label with spaces is a prose phrase (``objects to shrink``); a label ending in ``:`` is
    printed that way (``nid:``).  ``positional`` fields are leading tokens with no label (the
    shrinker symbol and pointer of ``mm_shrink_slab_*``).
    """

    name: str
    type: str
    keys: tuple[str, ...] = ()
    doc: str = ""
    positional: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return self.keys or (self.name,)

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]


@dataclass(frozen=True)
class Variant:
    """One printk format an event had over a range of kernel versions.

    ``keys`` are the printed labels in print order.  ``hex`` names labels printed as ``0x%lx``.
    ``name`` is the event's printed name if it differs (renames such as write_folio).
    """

    since: str
    until: str | None
    keys: tuple[str, ...]
    hex: tuple[str, ...] = ()
    name: str | None = None
    note: str = ""
    vendors: tuple[str, ...] = ()  # vendor kernels (schema.VENDOR_KERNELS) that print it outside the range

    @property
    def range(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return parse_version(self.since), parse_version(self.until)


@dataclass(frozen=True)
class Derived:
    """A column computed from parsed ones by a decoder in :mod:`reclaimctl.events.flags`."""

    name: str
    type: str
    doc: str = ""


@dataclass(frozen=True)
class Event:
    name: str
    subsystem: str
    fields: tuple[Field, ...]
    variants: tuple[Variant, ...]
    doc: str = ""
    aliases: tuple[str, ...] = ()
    decoders: tuple[str, ...] = ()  # names of decoders in flags.DECODERS, applied in order
    derived: tuple[Derived, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def schema(self) -> pa.Schema:
        cols = [pa.field(n, t) for n, t in HEADER_COLUMNS]
        cols += [pa.field(f.name, f.arrow_type) for f in self.fields]
        cols += [pa.field(d.name, ARROW_TYPES[d.type]) for d in self.derived]
        return pa.schema(cols)

    def label_to_field(self) -> dict[str, int]:
        """Printed label -> index into ``fields``."""
        out: dict[str, int] = {}
        for i, f in enumerate(self.fields):
            if f.positional:
                continue
            for k in f.labels:
                out[k] = i
        return out
