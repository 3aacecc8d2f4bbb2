"""Stream a source through the parser: read blocks, cut at line ends, parse blocks on worker
threads (the numba loop releases the GIL), and hand back per-event record batches in order while
keeping the line accounting and metadata."""

from __future__ import annotations

import mmap
import re
import signal
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress

import numpy as np
import pyarrow as pa

from ..events import OTHER, REGISTRY, infer_kernel
from ..events.tables import TraceMeta
from . import kernel as K
from .chunk import ChunkParser, ChunkResult, Malformed
from .sniff import FORMATS, NotText, buffer_overrun, check_text, sniff
from .source import SourceError, open_source, read_into
from .stap import parse_stap

CHUNK_BYTES = 32 << 20  # a block of text parsed in one go by one worker
MIN_BLOCK = 4 << 20
ROW_BYTES = 128  # the parser's row arrays hold a block's lines if they average this long (else: more passes)
LIVE_BLOCK = 1 << 20  # a live stream (pipe) is parsed in blocks of about this size
NON_EVENT_KINDS = ("blank", "comment", "header", "callchain", "stacktrace", "lost_marker", "continuation")


_HEADER = re.compile(rb"\[\d+\]\s+(?:\S{1,8}\s+)?\d+(?:\.\d+)?:\s")


def _cut(buf: bytearray | mmap.mmap, filled: int, begin: int = 0) -> int:
    """Where a block ends: before its last event line, so that the lines a mail client wrapped off
    that event (which may still be to come) are parsed with it in the next block; after the last
    whole line when no event line is among the last few."""
    end = buf.rfind(b"\n", begin, filled) + 1
    if end == 0:
        return begin
    lo = max(begin, end - 8192)
    pos = end - 1
    for _ in range(8):
        s = buf.rfind(b"\n", lo, pos) + 1
        if _HEADER.search(bytes(buf[s : min(s + 200, pos)])) is not None:
            return s if s > begin else end
        if s <= lo:
            break
        pos = s - 1
    return end


def _normalize_spaces(buf: bytearray | mmap.mmap, n: int, begin: int = 0) -> None:
    """A no-break space (U+00A0, from HTML-mail pastes) becomes two plain spaces, in place."""
    i = buf.find(b"\xc2\xa0", begin, n)
    while i >= 0:
        buf[i : i + 2] = b"  "
        i = buf.find(b"\xc2\xa0", i + 2, n)


def _map(opened) -> mmap.mmap | None:  # type: ignore[no-untyped-def]
    """A private (copy-on-write) map of an uncompressed regular file, or None."""
    if opened.compression is not None or opened.live or opened.is_stdin or not opened.size:
        return None
    try:
        return mmap.mmap(opened.stream.fileno(), 0, access=mmap.ACCESS_COPY)
    except (OSError, ValueError, AttributeError):
        return None


def _release(mm: mmap.mmap, start: int, end: int) -> None:
    """Drop the resident pages wholly inside a parsed block (memory stays bounded)."""
    page = mmap.PAGESIZE
    lo = -(-start // page) * page
    hi = end // page * page
    if hi > lo and hasattr(mm, "madvise"):
        with suppress(ValueError, OSError):
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def _unmap(mm: mmap.mmap) -> None:
    with suppress(BufferError):  # still exported: the garbage collector closes it
        mm.close()


class ParseError(Exception):
    """Malformed input under --strict, or an unreadable source: ``file:line: message``."""


def resolve_events(names: Iterable[str] | None) -> set[str] | None:
    """Event filter: event names, aliases or subsystem names (``vmscan``, ``kmem``, ``other``)."""
    if not names:
        return None
    out: set[str] = set()
    subsystems = {e.subsystem for e in REGISTRY.values()}
    for raw in names:
        n = raw.strip()
        if not n:
            continue
        if n in ("other", OTHER):
            out.add(OTHER)
        elif n in subsystems:
            out |= {e.name for e in REGISTRY.subsystem(n)}
        elif (ev := REGISTRY.lookup(n)) is not None:
            out.add(ev.name)
        else:
            raise ValueError(f"unknown event or subsystem {n!r} (see `reclaimctl events`)")
    return out


class TraceReader:
    """Iterate over ``batches()`` to parse; ``meta`` is complete once the iteration ends."""

    def __init__(
        self,
        path: str,
        fmt: str | None = None,
        events: set[str] | None = None,
        strict: bool = False,
        chunk_bytes: int = CHUNK_BYTES,
        workers: int = 2,
    ) -> None:
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.path = path
        self.fmt = fmt
        self.events = events
        self.strict = strict
        self.chunk_bytes = chunk_bytes
        self.workers = max(1, workers)
        self.meta = TraceMeta(source=path)
        self._counters = np.zeros(len(K.COUNTERS), np.int64)
        self._label_sets: dict[str, set[frozenset[str]]] = {}
        self._unknown: Counter[tuple[str, str]] = Counter()
        self._incomplete: Counter[str] = Counter()
        self._lost: Counter[int] = Counter()
        self._rows: Counter[str] = Counter()
        self._tasks: Counter[tuple[str, int]] = Counter()
        self._cpus: set[int] = set()
        self._malformed: list[Malformed] = []
        self._lines = 0
        self.bytes_read = 0
        self._finished = False
        self._eof = False
        self._in_read = False
        self._free: list[bytearray] = []  # block buffers the workers are done with
        self._block_lines = 0  # newlines in the block _blocks yielded last
        self.interrupted = False

    # ------------------------------------------------------------------ reading

    def batches(self) -> Iterator[dict[str, pa.RecordBatch]]:
        try:
            opened = open_source(self.path)
        except SourceError as exc:
            raise ParseError(str(exc)) from None
        self.meta.source = opened.name
        self.meta.compression = opened.compression
        with opened.stream, self._sigint(opened.live):
            mapped = _map(opened)
            if mapped is not None:  # a regular file: parsed in place, no first block to read
                first, n = bytearray(), 0
                head = bytes(mapped[: 1 << 16])
            else:
                first = bytearray(self.chunk_bytes if opened.size is None else min(self.chunk_bytes, opened.size + 8))
                n = self._read(opened, memoryview(first))
                head = bytes(first[: min(n, 1 << 16)])
            try:
                check_text(head, opened.name)
            except NotText as exc:
                raise ParseError(str(exc)) from None
            if n == 0 and mapped is None and not self.interrupted:
                self.meta.warnings.append(f"{opened.name}: empty input, no lines")
            fmt = self.fmt or sniff(head)
            self.meta.format = fmt
            self.meta.buffer_overrun = buffer_overrun(head)
            if self.meta.buffer_overrun:
                self.meta.warnings.append(
                    f"the trace header says the ring buffer overwrote {self.meta.buffer_overrun} events "
                    "(entries-written > entries-in-buffer): the start of the trace is missing"
                )
            if fmt == "stap":
                if mapped is not None:
                    _unmap(mapped)
                    first = bytearray(min(self.chunk_bytes, (opened.size or 0) + 8))
                    n = self._read(opened, memoryview(first))
                yield from self._stap(opened, first, n)
            else:
                yield from self._text(opened, first, n, mapped)
        self.finish()

    @contextmanager
    def _sigint(self, live: bool) -> Iterator[None]:
        """On a live stream (trace_pipe), Ctrl-C ends the input instead of the program: what was
        read is parsed and the output completed.  A second Ctrl-C interrupts as usual."""
        if not live or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True
            self._eof = True
            self.meta.warnings.append("interrupted: parsed the input read up to then")
            if self._in_read:
                raise KeyboardInterrupt

        old = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)

    def _blocks(self, opened, first: bytearray, n: int) -> Iterator[tuple[np.ndarray, int, bool]]:
        """Whole-line blocks: (buffer, length, final)."""
        buf, filled = first, n
        while True:
            eof = self._eof or (filled < len(buf) and not opened.live) or (opened.live and filled == 0)
            cut = filled if eof else _cut(buf, filled)
            if not eof and cut == 0 and filled == len(buf):  # one line longer than the block: grow
                bigger = bytearray(len(buf) * 2)
                bigger[:filled] = buf[:filled]
                buf = bigger
                filled += self._read(opened, memoryview(buf)[filled:])
                continue
            self.bytes_read += cut
            if cut:
                arr = np.frombuffer(buf, np.uint8)
                newlines, has_a0 = K.scan_block(arr, arr[: len(arr) // 8 * 8].view(np.uint64), 0, cut)
                if has_a0:
                    _normalize_spaces(buf, cut)
                self._block_lines = newlines
                yield arr, cut, eof
            if eof:
                return
            rest = filled - cut
            nxt = self._buffer(max(self.chunk_bytes, rest + (1 << 20)))
            nxt[:rest] = buf[cut:filled]
            got = self._read(opened, memoryview(nxt)[rest:])
            if got == 0 and (opened.live or self._eof):
                if rest:
                    self.bytes_read += rest
                    yield np.frombuffer(nxt, np.uint8), rest, True
                return
            buf, filled = nxt, rest + got

    def _buffer(self, size: int) -> bytearray:
        """A block buffer: one a worker has finished with, or a new one."""
        while self._free:
            buf = self._free.pop()
            if len(buf) >= size:
                return buf
        return bytearray(size)

    def _read(self, opened, view: memoryview) -> int:
        """Fill the view; a live stream is read until LIVE_BLOCK bytes or end of input.

        Ctrl-C (the way a trace_pipe session ends) counts as the end of input: what was read is
        still parsed, and a warning says the input was cut."""
        got = 0
        try:
            while not self._eof:
                self._in_read = True
                try:
                    k, error = read_into(opened.stream, view[got:], opened.live, opened.compression is not None)
                finally:
                    self._in_read = False
                got += k
                if error:
                    self.meta.warnings.append(f"{opened.name}: {error}; parsed what came before")
                    break
                if not opened.live or k == 0 or got >= min(LIVE_BLOCK, len(view)):
                    return got
        except KeyboardInterrupt:  # raised by _sigint's handler while blocked in a read
            pass
        self._eof = True
        return got

    def _text(self, opened, first: bytearray, n: int, mapped: mmap.mmap | None) -> Iterator[dict[str, pa.RecordBatch]]:
        local = threading.local()
        if mapped is not None:  # smaller blocks for smaller files: all workers busy, less memory
            self.chunk_bytes = min(self.chunk_bytes, max(MIN_BLOCK, len(mapped) // (4 * self.workers)))
        rows = max(1 << 12, min(1 << 19, self.chunk_bytes // ROW_BYTES))

        def work(buf: np.ndarray, start: int, end: int, final: bool, base: int) -> list[ChunkResult]:
            parser = getattr(local, "parser", None)
            if parser is None:
                parser = local.parser = ChunkParser(rows=rows)
            try:
                return parser.parse(buf, end, final, base, start)
            finally:
                if mapped is None:
                    self._free.append(buf.base.obj)  # the block's bytearray is no longer needed
                else:
                    _release(mapped, start, end)

        blocks = self._mapped_blocks(mapped) if mapped is not None else (
            (buf, 0, length, final) for buf, length, final in self._blocks(opened, first, n))
        pending: deque[Future[list[ChunkResult]]] = deque()
        base = 0
        try:
            with ThreadPoolExecutor(self.workers) as pool:
                for buf, start, end, final in blocks:
                    pending.append(pool.submit(work, buf, start, end, final, base))
                    base += self._block_lines
                    while len(pending) > self.workers:
                        yield from self._collect(pending.popleft().result())
                while pending:
                    yield from self._collect(pending.popleft().result())
        finally:
            del blocks
            if mapped is not None:
                _unmap(mapped)

    def _mapped_blocks(self, mm: mmap.mmap) -> Iterator[tuple[np.ndarray, int, int, bool]]:
        """Blocks of a memory-mapped file: no copies; pages are released once a block is parsed."""
        arr = np.frombuffer(mm, np.uint8)
        w64 = arr[: len(arr) // 8 * 8].view(np.uint64)
        size = len(arr)
        start = 0
        while start < size and not self._eof:
            end = min(start + self.chunk_bytes, size)
            final = end == size
            if not final:
                end = _cut(mm, end, start)
                if end <= start:  # one line longer than a block
                    nl = mm.find(b"\n", start + self.chunk_bytes)
                    end = size if nl < 0 else nl + 1
                    final = end == size
            newlines, has_a0 = K.scan_block(arr, w64, start, end)
            if has_a0:
                _normalize_spaces(mm, end, start)
            self._block_lines = newlines
            self.bytes_read = end
            yield arr, start, end, final
            start = end

    def _stap(self, opened, first: bytearray, n: int) -> Iterator[dict[str, pa.RecordBatch]]:
        for buf, length, _final in self._blocks(opened, first, n):
            text = bytes(buf[:length]).decode("utf-8", "replace")
            yield from self._collect([parse_stap(text, self._lines)])

    # ------------------------------------------------------------------ accounting

    def _collect(self, results: list[ChunkResult]) -> Iterator[dict[str, pa.RecordBatch]]:
        for res in results:
            self._lines += res.lines
            self._counters += res.counters
            if self.strict and res.malformed:
                m = res.malformed[0]
                raise ParseError(f"{self.meta.source}:{m.line}: {m.reason}, got {m.text.strip()!r}")
            if len(self._malformed) < 1000:
                self._malformed.extend(res.malformed[: 1000 - len(self._malformed)])
            for name, sets in res.label_sets.items():
                self._label_sets.setdefault(name, set()).update(sets)
            self._unknown.update(res.unknown_labels)
            self._incomplete.update(res.incomplete)
            self._lost.update(res.lost_cpu)
            self._tasks.update(res.tasks)
            self._cpus |= res.cpus
            if res.ts_min is not None:
                lo, hi = res.ts_min, res.ts_max
                self.meta.first_ns = lo if self.meta.first_ns is None else min(self.meta.first_ns, lo)
                self.meta.last_ns = hi if self.meta.last_ns is None else max(self.meta.last_ns, hi)
            out: dict[str, pa.RecordBatch] = {}
            for name, batch in res.batches.items():
                self._rows[name] += batch.num_rows
                if self.events is None or name in self.events:
                    out[name] = batch
            if out:
                yield out

    def finish(self) -> None:
        """Complete the metadata (called when the input ends, or by a caller that stops early)."""
        if self._finished:
            return
        self._finished = True
        c = dict(zip(K.COUNTERS, self._counters.tolist(), strict=True))
        non_event = {k: c[k] for k in NON_EVENT_KINDS}
        meta = self.meta
        meta.lines = {
            "total": c["lines"],
            "parsed": c["parsed"],
            "unknown_event": c["unknown_event"],
            "malformed": c["malformed"],
            "non_event": sum(non_event.values()),
        }
        meta.non_event = non_event
        meta.lost_events = c["lost_events"]
        meta.lost_by_cpu = {str(k): v for k, v in sorted(self._lost.items())}
        meta.cpus = sorted(int(x) for x in self._cpus if x is not None)
        meta.rows = dict(sorted(self._rows.items()))
        meta.top_tasks = [{"comm": k[0], "pid": k[1], "events": v} for k, v in self._tasks.most_common(20)]
        meta.kernel = infer_kernel(self._label_sets)
        meta.kernel["labels"] = {k: sorted(sorted(s) for s in v) for k, v in sorted(self._label_sets.items())}
        meta.unknown_labels = [
            {"event": e, "label": lab, "count": n} for (e, lab), n in self._unknown.most_common()
        ]
        meta.incomplete = dict(self._incomplete)
        meta.malformed_samples = [{"line": m.line, "text": m.text, "reason": m.reason} for m in self._malformed[:50]]
        if meta.lost_events:
            meta.warnings.append(
                f"{meta.lost_events} events were lost (ring buffer overrun, `CPU:N [LOST M EVENTS]` markers "
                f"on CPUs {', '.join(meta.lost_by_cpu)}): episodes that span them are incomplete"
            )
        if c["malformed"]:
            first = self._malformed[0] if self._malformed else None
            where = f"; first at line {first.line}: {first.reason}" if first else ""
            meta.warnings.append(f"{c['malformed']} malformed lines were not parsed{where}")
        for (e, lab), n in self._unknown.most_common(5):
            meta.warnings.append(f"{e}: label {lab!r} is not in the registry ({n} lines); its values were skipped")
        for e, n in self._incomplete.items():
            meta.warnings.append(f"{e}: {n} lines lack fields of every known format; kept with nulls")
        if c["continuation"]:
            meta.warnings.append(f"{c['continuation']} wrapped lines were joined back to the event line before them")
