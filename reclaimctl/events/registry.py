"""The registry: every event the parser reads and the engine emits, looked up by any of its names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from . import around, stap, vmscan
from .schema import LATEST, VENDOR_KERNELS, Event, Variant, format_version, parse_version

# The table that keeps events the registry does not know (timestamp, cpu, pid, comm, event, payload).
OTHER = "other_events"


class Registry(Mapping[str, Event]):
    def __init__(self, events: Iterable[Event]) -> None:
        self._events: dict[str, Event] = {}
        self._by_name: dict[str, Event] = {}
        for ev in events:
            if ev.name in self._events:
                raise ValueError(f"event {ev.name} registered twice")
            self._events[ev.name] = ev
            for n in ev.names:
                if n in self._by_name:
                    raise ValueError(f"event name {n} registered twice")
                self._by_name[n] = ev

    def __getitem__(self, name: str) -> Event:
        return self._events[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def lookup(self, printed: str) -> Event | None:
        """The event for a printed name (``vmscan:mm_vmscan_write_folio`` or ``mm_vmscan_writepage``)."""
        return self._by_name.get(printed.rsplit(":", 1)[-1])

    def subsystem(self, name: str) -> list[Event]:
        return [e for e in self._events.values() if e.subsystem == name]

    def text_events(self) -> list[Event]:
        """Events that come from ftrace / perf / trace-cmd text (everything but systemtap)."""
        return [e for e in self._events.values() if e.subsystem != "stap"]


REGISTRY = Registry((*vmscan.EVENTS, *around.EVENTS, *stap.EVENTS))


def infer_kernel(labels_seen: Mapping[str, set[frozenset[str]]]) -> dict[str, object]:
    """Tell the kernel version range from the labels each event was printed with.

    ``labels_seen`` maps an event name to the label sets of its parsed lines.  A variant fits a
    label set if it printed exactly those labels.  The answer intersects the version ranges of the
    fitting variants over all events; when that is empty, vendor kernels known to mix formats
    (RHEL 8) are tried.
    """
    lo, hi = (0, 0), LATEST
    evidence: list[str] = []
    unmatched: list[str] = []
    fitting: list[list[Variant]] = []
    for name, label_sets in sorted(labels_seen.items()):
        ev = REGISTRY.get(name)
        if ev is None or ev.subsystem == "stap":
            continue
        for labels in label_sets:
            fits = [v for v in ev.variants if frozenset(v.keys) == labels]
            if not fits:
                unmatched.append(name)
                continue
            fitting.append(fits)
            vlo = min(v.range[0] for v in fits)
            vhi = max(v.range[1] for v in fits)
            if vlo > parse_version("2.6.36") or vhi != LATEST:
                evidence.append(f"{name}: {format_version(vlo)} - {format_version(vhi)}")
            lo, hi = max(lo, vlo), min(hi, vhi)
    vendors = sorted({t for fits in fitting for v in fits for t in v.vendors})
    also = [VENDOR_KERNELS[t][0] for t in vendors if all(_vendor_fits(fits, t) for fits in fitting)]
    if not fitting:
        text = "unknown"
    elif lo > hi:
        text = also[0] if also else "inconsistent (mixed kernels or a patched kernel)"
        also = also[1:]
    else:
        text = f"{format_version(lo)} - {format_version(hi)}" if hi != LATEST else f">= {format_version(lo)}"
    return {"range": text, "evidence": evidence, "unmatched": sorted(set(unmatched)),
            "notes": [f"or {a}" for a in also]}


def _vendor_fits(fits: list[Variant], tag: str) -> bool:
    base = VENDOR_KERNELS[tag][1]
    return any(tag in v.vendors or v.range[0] <= base <= v.range[1] for v in fits)
