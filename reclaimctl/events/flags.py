"""Decoders: symbolic strings (reclaim flags, LRU names, gfp masks) to columns a user can filter on.

Each decoder takes the parsed columns of one batch and returns the derived columns.  String
columns are dictionary-encoded, so a decoder decodes each distinct string once and maps the
result through the indices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from .schema import Event

Columns = dict[str, pa.Array]

# ---------------------------------------------------------------- reclaim flags (show_reclaim_flags)


def reclaim_flags(text: str) -> tuple[bool | None, bool | None]:
    """``RECLAIM_WB_FILE|RECLAIM_WB_ASYNC`` -> (is_file, is_sync)."""
    parts = set(text.split("|"))
    is_file: bool | None = None
    if "RECLAIM_WB_FILE" in parts and "RECLAIM_WB_ANON" not in parts:
        is_file = True
    elif "RECLAIM_WB_ANON" in parts and "RECLAIM_WB_FILE" not in parts:
        is_file = False
    is_sync: bool | None = None
    if "RECLAIM_WB_SYNC" in parts:
        is_sync = True
    elif "RECLAIM_WB_ASYNC" in parts:
        is_sync = False
    return is_file, is_sync


# ---------------------------------------------------------------- LRU names (lru_isolate lru=)

LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")


def lru_name(text: str) -> tuple[bool | None, bool | None]:
    """``inactive_file`` -> (is_file, is_active); numeric lru= of debug kernels is accepted too."""
    if text.isdigit():
        n = int(text)
        text = LRU_NAMES[n] if n < len(LRU_NAMES) else ""
    # abbreviations of debug kernels: "inact_file", "act_anon"
    t = text.replace("inact_", "inactive_").replace("act_", "active_") if "inactive" not in text else text
    if t.endswith("_file"):
        return True, t.startswith("active")
    if t.endswith("_anon"):
        return False, t.startswith("active")
    return None, None


# ---------------------------------------------------------------- gfp flags (show_gfp_flags)

# Composite names expand to the single flags the decoded columns care about.  Names are given
# without the leading "__GFP_"; RECLAIM is DIRECT_RECLAIM|KSWAPD_RECLAIM (4.4+); WAIT is the
# pre-4.4 name of direct reclaim, and kswapd was woken then unless NO_KSWAPD.
_USER = {"DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO", "FS", "HARDWALL"}
GFP_COMPOSITES: dict[str, frozenset[str]] = {
    "GFP_KERNEL": frozenset({"DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO", "FS"}),
    "GFP_KERNEL_ACCOUNT": frozenset({"DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO", "FS", "ACCOUNT"}),
    "GFP_ATOMIC": frozenset({"HIGH", "ATOMIC", "KSWAPD_RECLAIM"}),
    "GFP_NOWAIT": frozenset({"KSWAPD_RECLAIM"}),
    "GFP_NOIO": frozenset({"DIRECT_RECLAIM", "KSWAPD_RECLAIM"}),
    "GFP_NOFS": frozenset({"DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO"}),
    "GFP_USER": frozenset(_USER),
    "GFP_HIGHUSER": frozenset(_USER | {"HIGHMEM"}),
    "GFP_HIGHUSER_MOVABLE": frozenset(_USER | {"HIGHMEM", "MOVABLE"}),
    "GFP_TRANSHUGE_LIGHT": frozenset({"IO", "FS", "HARDWALL", "HIGHMEM", "MOVABLE", "COMP", "NOMEMALLOC", "NOWARN"}),
    "GFP_TRANSHUGE": frozenset(
        {"DIRECT_RECLAIM", "IO", "FS", "HARDWALL", "HIGHMEM", "MOVABLE", "COMP", "NOMEMALLOC", "NOWARN"}
    ),
    "GFP_TEMPORARY": frozenset({"DIRECT_RECLAIM", "KSWAPD_RECLAIM", "IO", "FS", "RECLAIMABLE"}),
    "GFP_IOFS": frozenset({"IO", "FS"}),
    "GFP_THISNODE": frozenset({"THISNODE", "NOWARN", "NORETRY"}),
    "GFP_DMA": frozenset({"DMA"}),
    "GFP_DMA32": frozenset({"DMA32"}),
}
GFP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("gfp_io", "IO"),
    ("gfp_fs", "FS"),
    ("gfp_direct_reclaim", "DIRECT_RECLAIM"),
    ("gfp_kswapd_reclaim", "KSWAPD_RECLAIM"),
    ("gfp_movable", "MOVABLE"),
    ("gfp_highmem", "HIGHMEM"),
    ("gfp_account", "ACCOUNT"),
    ("gfp_nofail", "NOFAIL"),
)
_SPLIT = re.compile(r"\||(?<=[A-Z0-9])(?=(?:__)?GFP_)")  # "|" or the 3.1-3.2 missing separator


@lru_cache(maxsize=4096)
def gfp_names(text: str) -> frozenset[str]:
    """The single flags (without ``__GFP_``) a printed gfp mask stands for.

    Accepts every era's rendering: ``GFP_KERNEL|__GFP_ZERO`` (4.x+), ``GFP_KERNEL|GFP_NOWARN|0x2``
    (2.6/3.x, singles without the leading underscores), ``GFP_KERNELGFP_NOTRACK`` (3.1-3.2, no
    separator), ``none``; leftover hex bits are ignored.
    """
    out: set[str] = set()
    if text in ("", "none"):
        return frozenset()
    old_wait = False
    for tok in _SPLIT.split(text):
        if not tok or tok.startswith("0x"):
            continue
        if tok in GFP_COMPOSITES:
            out |= GFP_COMPOSITES[tok]
            continue
        name = tok.removeprefix("__").removeprefix("GFP_")
        if name == "RECLAIM":
            out |= {"DIRECT_RECLAIM", "KSWAPD_RECLAIM"}
        elif name == "WAIT":
            old_wait = True
            out.add("DIRECT_RECLAIM")
        else:
            out.add(name)
    if old_wait and "NO_KSWAPD" not in out:
        out.add("KSWAPD_RECLAIM")
    return frozenset(out)


# ---------------------------------------------------------------- helpers


def _decode_dict(
    col: pa.Array, fn: Callable[[str], Sequence[bool | None]], width: int
) -> list[pa.Array]:
    """Apply ``fn`` to each distinct value of a dictionary column; return ``width`` bool arrays."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    words = col.dictionary.to_pylist()
    decoded = [fn(w) if w is not None else (None,) * width for w in words]
    out = []
    for i in range(width):
        table = pa.array([d[i] for d in decoded], type=pa.bool_())
        out.append(pc.take(table, col.indices))
    return out


def _nulls(n: int) -> pa.Array:
    return pa.nulls(n, type=pa.bool_())


def decode_reclaim_flags(cols: Columns) -> Columns:
    is_file, is_sync = _decode_dict(cols["flags"], reclaim_flags, 2)
    return {"is_file": is_file, "is_sync": is_sync}


def decode_lru(cols: Columns) -> Columns:
    lru = cols["lru"]
    n = len(lru)
    is_file, is_active = _decode_dict(lru, lru_name, 2) if lru.null_count < n else (_nulls(n), _nulls(n))
    raw_file = cols.get("file")
    if raw_file is not None and raw_file.null_count < n:  # before 4.11: file=%d, no list name
        is_file = pc.coalesce(is_file, pc.not_equal(raw_file, 0))
    return {"is_file": is_file, "is_active": is_active}


def decode_gfp(cols: Columns) -> Columns:
    def fn(text: str) -> tuple[bool, ...]:
        names = gfp_names(text)
        return tuple(flag in names for _, flag in GFP_COLUMNS)

    arrays = _decode_dict(cols["gfp_flags"], fn, len(GFP_COLUMNS))
    return {name: arr for (name, _), arr in zip(GFP_COLUMNS, arrays, strict=True)}


def decode_activate_split(cols: Columns) -> Columns:
    """Fill whichever form of the activation count the kernel did not print.

    4.11-5.1 print ``nr_activate``: one list type is shrunk per call, so it is credited to anon or
    file by the event's flags.  5.2+ print the split: ``nr_activate`` is their sum.
    """
    total = cols["nr_activate"]
    anon = cols["nr_activate_anon"]
    file_ = cols["nr_activate_file"]
    is_file = cols["is_file"]
    summed = pc.add(anon, file_)
    zero = pa.scalar(0, pa.int64())
    from_total_file = pc.if_else(is_file, total, zero)
    from_total_anon = pc.if_else(pc.invert(is_file), total, zero)
    return {
        "nr_activate": pc.coalesce(total, summed),
        "nr_activate_anon": pc.coalesce(anon, from_total_anon),
        "nr_activate_file": pc.coalesce(file_, from_total_file),
    }


Decoder = Callable[[Columns], Columns]
DECODERS: dict[str, Decoder] = {
    "reclaim_flags": decode_reclaim_flags,
    "lru": decode_lru,
    "gfp": decode_gfp,
    "activate_split": decode_activate_split,
}



def decoded_batch(event: Event, head: list[pa.Array], fields: Columns) -> pa.RecordBatch:
    """One event's record batch, as the parser and the engine both build it: header columns, the
    event's fields (absent ones null), then the columns its decoders derive."""
    n = len(head[0])
    cols = dict(fields)
    for f in event.fields:
        if f.name not in cols:
            cols[f.name] = pa.nulls(n, type=f.arrow_type)
    for name in event.decoders:
        cols.update(DECODERS[name](cols))
    arrays = head + [cols[f.name] for f in event.fields] + [cols[d.name] for d in event.derived]
    return pa.RecordBatch.from_arrays(arrays, schema=event.schema())


__all__ = ["DECODERS", "decoded_batch", "GFP_COLUMNS", "gfp_names", "lru_name", "reclaim_flags"]
