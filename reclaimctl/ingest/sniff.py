"""Tell the text format of a trace from its first lines."""

from __future__ import annotations

import re

FORMATS = ("ftrace", "trace-cmd", "perf", "stap")

_FTRACE = re.compile(rb"^\s*.*-\d+\s+(\(\s*[\d-]+\)\s+)?\[\d+\]\s+(\S{1,8}\s+)?\d+(\.\d+)?:\s+\S+")
_PERF = re.compile(rb"^\s*.*\S\s+\d+(/\d+)?\s+\[\d+\]\s+\d+\.\d+:\s+\S+:")
_STAP = re.compile(rb"^\[\d+\]\s+.*\b\w+\(.*\)")
_TRACE_CMD_HEAD = re.compile(rb"^(version = \d+|cpus=\d+|CPU \d+ is empty|trace-cmd)", re.M)
_ENTRIES = re.compile(rb"entries-in-buffer/entries-written:\s*(\d+)/(\d+)")


class NotText(Exception):
    pass


def check_text(head: bytes, name: str) -> None:
    """Reject binary input (trace.dat, perf.data, an executable) with a helpful message."""
    if not head:
        return
    if head.startswith(b"\x17\x08\x44tracing"):
        raise NotText(f"{name}: a trace-cmd binary trace.dat; run `trace-cmd report {name}` and parse its text")
    if head.startswith(b"PERFILE2") or head.startswith(b"PERFFILE"):
        raise NotText(f"{name}: a perf.data file; run `perf script -i {name}` and parse its text")
    sample = head[:65536]
    nul = sample.find(b"\x00")
    if nul >= 0:
        raise NotText(f"{name}: binary data (a NUL byte at offset {nul}), expected trace text")
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if bad > len(sample) // 100 + 1:
        raise NotText(f"{name}: binary data, expected trace text")


def sniff(head: bytes) -> str:
    """The most likely format of ``head``; "ftrace" when nothing tells."""
    lines = head.split(b"\n")[:400]
    if _TRACE_CMD_HEAD.search(b"\n".join(lines[:20])):
        return "trace-cmd"
    counts = dict.fromkeys(FORMATS, 0)
    for ln in lines:
        if _STAP.match(ln) and b": " not in ln[:40]:
            counts["stap"] += 1
        elif _PERF.match(ln) and not re.match(rb"^\s*\S.*-\d+\s+\[", ln):
            counts["perf"] += 1
        elif _FTRACE.match(ln):
            counts["ftrace"] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "ftrace"


def buffer_overrun(head: bytes) -> int:
    """Events the ring buffer overwrote, from the ``trace`` file header (written - in buffer)."""
    m = _ENTRIES.search(head[:8192])
    if not m:
        return 0
    return max(int(m.group(2)) - int(m.group(1)), 0)
