"""Event tables -> trace text: the ftrace ``trace`` file a kernel would have written for them, and the
systemtap script's output for the ``stap_*`` tables, so that ``reclaimctl parse`` reads them back.

    info = write_text(sim.tables(), "run.log")     # run.log, and run.log.stap if there are stap rows
    again = EventTables.merge([read("run.log"), read("run.log.stap")])

Format choices
--------------
* **Which format.**  Each event is printed with the registry :class:`Variant` of the run's kernel
  (``tables.meta.kernel["version"]``: ``4.18.0-147``, ``4.18.0-372``, ``6.6.0``): a variant flagged
  for a vendor kernel the version belongs to wins (``VENDOR_KERNELS``: the tag ``rhel8-305`` stands
  for ``4.18.0-305`` and later releases), else the variant whose version range holds the kernel.
  An event the kernel does not have is printed in the nearest variant and listed in
  ``"not_in_kernel"`` of the result.  Fields the variant does not print (:func:`unprinted`, e.g.
  zid of kswapd_wake on 6.6) cannot come back: the parser fills them with null, or re-derives them
  (``nr_activate`` from its anon/file split and back).  Derived columns (gfp bools, is_file ...)
  are never printed; the parser recomputes them from the raw fields.
* **Payload.**  The variant's labels in print order, as ``label=value``; in prose events (those
  with a label containing a space: mm_shrink_slab_*) as ``label value``; a label ending in ``:`` is
  followed by its value directly (``file-rss:0``), or after a space in prose (``nid: 0``).
  Positional fields lead, space-separated, the last one followed by ``:`` (the ``%pS %p:`` prefix).
  Values: integers in decimal, ``0x%lx`` for labels in ``Variant.hex``; pointers (``PTR``) as
  ``%016lx``, which is how a 64-bit kernel prints ``%p`` (hashed from 4.15, 16 hex digits); strings
  as they are; a null value as ``(null)``, which the parser reads back as null.
* **Line header.**  ``trace_print_context`` with the ``record-tgid`` and ``irq-info`` options:
  ``%16s-%-5d (%5d) [%03d] FLAGS %5lu.%09lu: event: payload`` (``%-7d``/``(%7d)`` from 5.14), so
  tgid and the irq flags round-trip.  The kernel prints microseconds (``%06lu``); trace-cmd prints
  nanoseconds and the parser reads up to nine fractional digits, so nanoseconds are printed and
  ``ts_ns`` round-trips exactly.
* **File header.**  ``# tracer: nop``, the entries line and the irq-info column legend with TGID
  (four flag columns before 5.13, five after): 11 comment lines (12 from 5.13), returned as
  ``header_lines``.
* **Line numbers.**  Lines are written in ascending ``line`` order (the engine's global sequence
  over all its events).  Read back, ``line`` is the line in the file: for a ftrace row
  ``header_lines`` + its rank among the ftrace rows, for a stap row its rank among the stap rows
  (the ``.stap`` file has no header).  The order is kept; the numbers are these ranks.
* **systemtap.**  ``stap_*`` rows go to ``<path>.stap`` (only when there are some) in the format of
  the notes' script (``[cpu] do_try_to_free_pages comm(x) BEG`` ...).  The script prints no
  timestamp, pid, tgid or irq flags: those come back null.
"""

from __future__ import annotations

import os
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .registry import REGISTRY
from .schema import I32, I64, PTR, STR, VENDOR_KERNELS, Event, Variant, parse_version
from .tables import EventTables

# print_func_help_header_irq() with record-tgid: 4.x (four flag columns), and 5.13+ (migrate-disable).
_LEGEND_4 = """\
#                          {sp}  _-----=> irqs-off
#                          {sp} / _----=> need-resched
#                          {sp}| / _---=> hardirq/softirq
#                          {sp}|| / _--=> preempt-depth
#                          {sp}||| /     delay
#           TASK-PID    TGID   CPU#  ||||    TIMESTAMP  FUNCTION
#              | |        |      |   ||||       |         |
""".format(sp=" " * 10)
_LEGEND_5 = """\
#                            {sp}  _-----=> irqs-off/BH-disabled
#                            {sp} / _----=> need-resched
#                            {sp}| / _---=> hardirq/softirq
#                            {sp}|| / _--=> preempt-depth
#                            {sp}||| / _-=> migrate-disable
#                            {sp}|||| /     delay
#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
#              | |           |       |   |||||     |         |
""".format(sp=" " * 12)

# The systemtap script of the incident notes, as ingest/stap.py reads it: literal words, the task's
# ``comm(x) `` and the event's ``key(value)`` pairs.
_COMM, _PAIRS = 0, 1
_STAP_LINES: dict[str, tuple[str | int, ...]] = {
    "stap_try_to_free_pages_begin": ("do_try_to_free_pages ", _COMM, "BEG"),
    "stap_try_to_free_pages_end": ("do_try_to_free_pages ", _COMM, "END: ", _PAIRS),
    "stap_shrink_node_begin": (_COMM, "shrink_node BEG, ", _PAIRS),
    "stap_shrink_node_end": (_COMM, _PAIRS),
}
_BLOCK = 1 << 18  # lines written at a time


def kernel_of(version: str) -> tuple[tuple[int, int], set[str]]:
    """``4.18.0-372`` -> ((4, 18), {"rhel8-305"}): the upstream base and the vendor tags that apply
    (a tag ``NAME-N`` of base B covers kernels B.0-M with release M >= N)."""
    base = parse_version(version.split("-")[0])
    release = version.partition("-")[2].split(".")[0]
    tags = {tag for tag, (_, tag_base) in VENDOR_KERNELS.items()
            if tag_base == base and release.isdigit() and int(release) >= int(tag.rsplit("-", 1)[1])}
    return base, tags


def variant(event: Event, version: str) -> tuple[Variant, bool]:
    """The format ``event`` has in kernel ``version``, and whether that kernel has the event at all
    (if not: the variant nearest in version)."""
    base, tags = kernel_of(version)
    for v in event.variants:
        if tags & set(v.vendors):
            return v, True
    for v in event.variants:
        if v.range[0] <= base <= v.range[1]:
            return v, True

    def distance(v: Variant) -> tuple[int, int]:
        lo, hi = v.range
        edge = lo if base < lo else hi
        return abs(edge[0] - base[0]), abs(edge[1] - base[1])

    return min(event.variants, key=distance), False


def unprinted(event: Event, version: str) -> tuple[str, ...]:
    """Fields of ``event`` that kernel ``version`` does not print (they parse back as null)."""
    v, _ = variant(event, version)
    printed = {event.label_to_field()[k] for k in v.keys}
    return tuple(f.name for i, f in enumerate(event.fields) if i not in printed and not f.positional)


# ---------------------------------------------------------------- column -> text


def _text(col: pa.Array, typ: str, hex_: bool = False) -> pa.Array:
    """A column printed as the kernel prints its type; nulls as ``(null)``."""
    if typ == PTR:
        out = pa.array([None if v is None else f"{v:016x}" for v in col.to_pylist()], pa.string())
    elif hex_:
        out = pa.array([None if v is None else f"0x{v:x}" for v in col.to_pylist()], pa.string())
    else:
        assert typ in (I32, I64, STR), typ
        out = pc.cast(col, pa.string())
    return pc.fill_null(out, "(null)")


def _header(t: pa.RecordBatch, name: str, pid_width: int) -> list[Any]:
    """Pieces of ``%16s-%-5d (%5d) [%03d] FLAGS %5lu.%09lu: name: ``."""
    ts = t.column("ts_ns")
    sec = pc.divide(ts, 1_000_000_000)
    nsec = pc.subtract(ts, pc.multiply(sec, 1_000_000_000))
    tgid = pc.utf8_lpad(pc.cast(t.column("tgid"), pa.string()), pid_width)
    return [
        pc.utf8_lpad(pc.fill_null(pc.cast(t.column("comm"), pa.string()), "<...>"), 16), "-",
        pc.utf8_rpad(_text(t.column("pid"), I32), pid_width), " (", pc.fill_null(tgid, "-" * pid_width), ") [",
        pc.utf8_lpad(_text(t.column("cpu"), I32), 3, "0"), "] ",
        pc.fill_null(pc.cast(t.column("irq_flags"), pa.string()), ""), " ",
        pc.utf8_lpad(_text(sec, I64), 5), ".", pc.utf8_lpad(_text(nsec, I64), 9, "0"), ": ", name, ": ",
    ]


def _payload(event: Event, t: pa.RecordBatch, v: Variant) -> list[Any]:
    """Pieces of the payload in variant ``v``'s format."""
    prose = any(" " in k for var in event.variants for k in var.keys)
    pieces: list[Any] = []
    positional = [f for f in event.fields if f.positional]
    for i, f in enumerate(positional):
        pieces += [_text(t.column(f.name), f.type), ": " if i == len(positional) - 1 else " "]
    fields = event.label_to_field()
    for i, label in enumerate(v.keys):
        f = event.fields[fields[label]]
        sep = " " if prose else "" if label.endswith(":") else "="
        pieces += [(" " if i else "") + label + sep, _text(t.column(f.name), f.type, label in v.hex)]
    return pieces


def _stap(event: Event, t: pa.RecordBatch) -> list[Any]:
    """Pieces of ``[cpu] ...`` in the notes' script format."""
    comm = pc.fill_null(pc.binary_join_element_wise("comm(", pc.cast(t.column("comm"), pa.string()), ") ", ""), "")
    pieces: list[Any] = ["[", _text(t.column("cpu"), I32), "] "]
    for part in _STAP_LINES[event.name]:
        if part == _COMM:
            pieces.append(comm)
        elif part == _PAIRS:
            for i, f in enumerate(event.fields):
                pieces += [(" " if i else "") + f.name + "(", _text(t.column(f.name), f.type), ")"]
        else:
            pieces.append(part)
    return pieces


# ---------------------------------------------------------------- files


def _write_to(target: str | os.PathLike[str] | IO[str], lines: list[np.ndarray], texts: list[pa.Array],
              head: str = "") -> int:
    """Write ``head``, then the texts (lines ending in a newline) in ascending order of their ``line``
    numbers; returns how many."""
    order = np.argsort(np.concatenate(lines), kind="stable") if lines else np.zeros(0, np.int64)
    all_texts = pa.concat_arrays(texts) if texts else pa.array([], pa.string())
    fh = target if hasattr(target, "write") else open(target, "w")  # noqa: SIM115
    try:
        fh.write(head)  # type: ignore[union-attr]
        for i in range(0, len(order), _BLOCK):
            block = all_texts.take(order[i : i + _BLOCK])
            ends = np.frombuffer(block.buffers()[1], np.int32, len(block) + 1, block.offset * 4)
            fh.write(bytes(memoryview(block.buffers()[2])[ends[0] : ends[-1]]).decode())  # type: ignore[union-attr]
    finally:
        if fh is not target:
            fh.close()  # type: ignore[union-attr]
    return len(order)


def write_text(tables: EventTables, path_or_file: str | os.PathLike[str] | IO[str], kernel: str | None = None,
               stap: str | os.PathLike[str] | IO[str] | None = None) -> dict[str, Any]:
    """Write ``tables`` as the ftrace ``trace`` file of kernel ``kernel`` (default: the version in
    ``tables.meta.kernel``); ``stap_*`` rows go to ``stap`` (default ``<path>.stap``).

    Returns what was written: ``kernel``, ``header_lines`` (comment lines before the first event),
    ``lines`` and ``stap_lines`` (events written), ``stap`` (its path, or None), the variant used
    per event (``formats``: since-until), events the kernel does not have (``not_in_kernel``),
    fields it does not print per event (``unprinted``) and tables it cannot print (``skipped``: rows)."""
    version = kernel or tables.meta.kernel.get("version")
    if not version:
        raise ValueError("no kernel version: pass kernel= (e.g. '4.18.0-372')")
    base = kernel_of(version)[0]
    info: dict[str, Any] = {"kernel": version, "formats": {}, "not_in_kernel": [], "unprinted": {},
                            "skipped": {}, "stap": None, "stap_lines": 0}
    ftrace: tuple[list[np.ndarray], list[pa.Array]] = ([], [])
    systemtap: tuple[list[np.ndarray], list[pa.Array]] = ([], [])
    cpus: set[int] = set()
    for name in tables:
        t = tables[name]
        event = REGISTRY.get(name)
        if t.num_rows == 0:
            continue
        if event is None or (event.subsystem == "stap" and name not in _STAP_LINES):
            info["skipped"][name] = t.num_rows  # other_events, stap_record: no format to print them in
            continue
        t = t.combine_chunks().to_batches()[0]  # plain arrays
        if event.subsystem == "stap":
            systemtap[0].append(t.column("line").to_numpy())
            systemtap[1].append(pc.binary_join_element_wise(*_stap(event, t), "\n", ""))
            continue
        v, present = variant(event, version)
        info["formats"][name] = f"{v.since}-{v.until or 'latest'}"
        if not present:
            info["not_in_kernel"].append(name)
        if missing := unprinted(event, version):
            info["unprinted"][name] = missing
        pieces = _header(t, v.name or event.name, 7 if base >= (5, 14) else 5) + _payload(event, t, v)
        ftrace[0].append(t.column("line").to_numpy())
        ftrace[1].append(pc.binary_join_element_wise(*pieces, "\n", ""))
        cpus.update(pc.unique(t.column("cpu")).to_pylist())
    n = sum(len(x) for x in ftrace[0])
    legend = _LEGEND_5 if base >= (5, 13) else _LEGEND_4
    head = (f"# tracer: nop\n#\n# entries-in-buffer/entries-written: {n}/{n}   #P:{max(cpus, default=0) + 1}\n"
            f"#\n{legend}")
    info["header_lines"] = head.count("\n")
    info["lines"] = _write_to(path_or_file, *ftrace, head)
    if systemtap[1]:
        if stap is None:
            if hasattr(path_or_file, "write"):
                raise ValueError("stap_* rows and a file object: pass stap= for the systemtap output")
            stap = os.fspath(path_or_file) + ".stap"  # type: ignore[arg-type]
        info["stap_lines"] = _write_to(stap, *systemtap)
        info["stap"] = None if hasattr(stap, "write") else os.fspath(stap)  # type: ignore[arg-type]
    return info


__all__ = ["kernel_of", "unprinted", "variant", "write_text"]
