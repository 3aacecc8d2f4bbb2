"""Round trip: simulated event tables -> ftrace and systemtap text (events.emit) -> `reclaimctl parse`
-> the same tables, column for column, under every profile's trace format and every shipped scenario.

What the round trip may change (documented in reclaimctl.events.emit):

* ``line`` becomes the line in the written file: ``header_lines`` + rank among the ftrace rows, or
  the rank among the stap rows in ``<path>.stap``;
* stap rows lose ``ts_ns``, ``pid``, ``tgid`` and ``irq_flags`` (the script does not print them);
* fields the kernel's format does not print come back null (or re-derived by the registry's
  decoders); where that loses a value the engine filled, the column must be listed in ``LOST``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import LOG_147, LOG_372, STAP_147, STAP_372

import reclaimctl
from reclaimctl.engine import profiles
from reclaimctl.engine.api import Simulation, workload
from reclaimctl.engine.machine import MachineSpec, MemcgSpec, TaskSpec
from reclaimctl.engine.shrinker_registry import ShrinkerSpec, SlabHistory
from reclaimctl.engine.state import OP_ANON_FAULT, OP_FILE_READ, OP_FILE_WRITE
from reclaimctl.events import REGISTRY, Event
from reclaimctl.events.emit import kernel_of, unprinted, write_text
from reclaimctl.events.flags import decoded_batch
from reclaimctl.events.schema import HEADER_COLUMNS, VENDOR_KERNELS, parse_version
from reclaimctl.events.tables import EventTables
from reclaimctl.workload.scenario import load, shipped

STAP_UNPRINTED = ("ts_ns", "pid", "tgid", "irq_flags")
_BEGIN_LOST = {"may_writepage", "highest_zoneidx"}  # 5.2+ (and RHEL 8 >= 305) print order and gfp_flags only
# Columns the engine fills that the kernel's format does not print: they cannot come back.
LOST: dict[str, dict[str, set[str]]] = {
    "4.18.0-147": {},
    "4.18.0-372": {"mm_vmscan_direct_reclaim_begin": _BEGIN_LOST, "mm_vmscan_memcg_reclaim_begin": _BEGIN_LOST},
    "6.6.0": {
        "mm_vmscan_direct_reclaim_begin": _BEGIN_LOST, "mm_vmscan_memcg_reclaim_begin": _BEGIN_LOST,
        "mm_vmscan_kswapd_wake": {"zid"}, "mm_vmscan_wakeup_kswapd": {"zid"},  # zid recorded, not printed
    },
}


# ---------------------------------------------------------------- comparing


def _plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return arr.cast(pa.string()) if pa.types.is_dictionary(arr.type) else arr


def _assert_column(got: pa.ChunkedArray, want: pa.Array, where: str) -> None:
    a, b = _plain(got), _plain(want)
    if not a.equals(b):
        la, lb = a.to_pylist(), b.to_pylist()
        i = next((k for k, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), min(len(la), len(lb)))
        raise AssertionError(f"{where}: {len(la)} vs {len(lb)} rows; first difference at row {i}: "
                             f"parsed {la[i:i + 3]}, expected {lb[i:i + 3]}")


def _expected(event: Event, table: pa.Table, version: str, line: np.ndarray) -> tuple[pa.Table, set[str]]:
    """The table the parser should give back, and the columns where it differs from the engine's
    (besides ``line`` and the stap header columns)."""
    cols = {c: table.column(c).combine_chunks() for c in table.column_names}
    cols["line"] = pa.array(line)
    if event.subsystem == "stap":
        cols.update({c: pa.nulls(table.num_rows, table.schema.field(c).type) for c in STAP_UNPRINTED})
        return pa.Table.from_pydict(cols, schema=table.schema), set()
    gone = set(unprinted(event, version))
    fields = {f.name: cols[f.name] for f in event.fields if f.name not in gone}
    batch = decoded_batch(event, [cols[c] for c, _ in HEADER_COLUMNS], fields)  # the parser's decoders
    lost = {c for c in batch.schema.names if c != "line" and not _plain(batch.column(c)).equals(_plain(cols[c]))}
    return pa.Table.from_batches([batch]), lost


def _kernel_fits(kernel: dict, version: str) -> bool:
    """The parser's kernel inference from the written formats agrees with the run's kernel."""
    base, tags = kernel_of(version)
    told = [kernel["range"], *kernel["notes"]]
    if tags:
        return any(VENDOR_KERNELS[t][0] in text for t in tags for text in told)
    text = kernel["range"]
    if text.startswith(">= "):
        return parse_version(text[3:]) <= base
    lo, hi = text.split(" - ")
    return parse_version(lo) <= base <= parse_version(hi if hi != "latest" else None)


def assert_round_trip(tables: EventTables, tmp_path: Path) -> dict:
    version = tables.meta.kernel["version"]
    info = write_text(tables, tmp_path / "run.log")
    parts = [reclaimctl.read(str(tmp_path / "run.log"))]
    if info["stap"]:
        parts.append(reclaimctl.read(info["stap"]))
    back = EventTables.merge(parts)

    sim = {name: t for name, t in tables.items() if t.num_rows}
    assert sorted(back) == sorted(sim)
    assert back.meta.lines["malformed"] == back.meta.lines["unknown_event"] == 0, back.meta.malformed_samples[:3]
    assert back.meta.lines["non_event"] == info["header_lines"]
    assert back.meta.lines["parsed"] == sum(t.num_rows for t in sim.values())
    assert not back.meta.unknown_labels and not back.meta.incomplete, back.meta.warnings
    assert not back.meta.kernel["unmatched"], back.meta.kernel  # every line prints one registry variant's labels
    assert _kernel_fits(back.meta.kernel, version), back.meta.kernel

    def sorted_lines(stap: bool) -> np.ndarray:
        cols = [t.column("line").to_numpy() for n, t in sim.items() if (REGISTRY[n].subsystem == "stap") == stap]
        lines = np.sort(np.concatenate(cols)) if cols else np.zeros(0, np.int64)
        assert (np.diff(lines) > 0).all()  # the engine's sequence numbers are unique
        return lines

    ranks = {False: (info["header_lines"], sorted_lines(False)), True: (0, sorted_lines(True))}
    for name, table in sim.items():
        event = REGISTRY[name]
        offset, lines = ranks[event.subsystem == "stap"]
        line = offset + 1 + np.searchsorted(lines, table.column("line").to_numpy())
        expected, lost = _expected(event, table, version, line)
        assert lost == LOST[version].get(name, set()), f"{name} on {version}: {sorted(lost)} do not round-trip"
        got = back[name]
        assert got.schema == expected.schema, name
        for col in expected.column_names:
            _assert_column(got.column(col), expected.column(col), f"{name}.{col} ({version})")
    return info


# ---------------------------------------------------------------- simulations


def _mixed(profile: str) -> Simulation:
    """Every kind of event in one short run: a dirty page-cache writer and a burst of reads (kswapd,
    direct reclaim, writepage), anon with a slow swap device (congestion_wait / throttled), anon over
    a memcg limit (memcg reclaim, swap) and over a swapless one (OOM), shrinkers with objects."""
    slab = (SlabHistory()
            .register(ShrinkerSpec("super_cache_scan+0x0/0x1a0", objects={"/": 20_000, "/lim": 4_000}))
            .register(ShrinkerSpec("deferred_split_scan+0x0/0x2d0", nonslab=True, empty_is_shrink_empty=False))
            .register(ShrinkerSpec("scan_shadow_nodes+0x0/0x50", memcg_aware=False, objects={"/": 5_000})))
    prof = profiles.override(profiles.get(profile), ["lat_swap_w=50000000", "lat_file_w=50000000"])
    sim = Simulation(
        MachineSpec(node_pages=12_000, cpus_per_node=2, swap_pages=40_000, dirty_ratio=100, dirty_background_ratio=100),
        prof, memcgs=[MemcgSpec("/lim", max_pages=1_500), MemcgSpec("/oom", max_pages=400, swappiness=0)],
        tasks=[TaskSpec(1000, "writer"), TaskSpec(1001, "reader"), TaskSpec(1002, "hog", memcg="/lim", anon_pages=3_000),
               TaskSpec(1003, "victim", memcg="/oom", anon_pages=1_000), TaskSpec(1004, "swapper", anon_pages=12_000)],
        file_pages=40_000, slab=slab)
    rows = []  # (ts, cpu, task, op, obj)
    t = 0
    for k in range(1_000):  # over /oom's limit, no swap for it: OOM
        rows.append((t, 1, 3, OP_ANON_FAULT, k))
        t += 10_000
    for k in range(8_000):  # dirty page cache
        rows.append((t, 0, 0, OP_FILE_WRITE, k))
        t += 20_000
    rows += [(t, 1, 1, OP_FILE_READ, 20_000 + k) for k in range(10_000)]  # a burst: direct reclaim
    for k in range(12_000):
        rows.append((t, 1, 4, OP_ANON_FAULT, k))
        t += 20_000
    t += 1_000_000
    for k in range(3_000):  # over /lim's limit: memcg reclaim
        rows.append((t, 0, 2, OP_ANON_FAULT, k))
        t += 10_000
    ts, cpu, task, op, obj = (np.array(c) for c in zip(*rows, strict=True))
    sim.run(workload(ts, cpu, task, op, obj, np.ones(len(ts))), settle_ns=2_000_000_000)
    return sim


COMMON = {
    "mm_vmscan_wakeup_kswapd", "mm_vmscan_kswapd_wake", "mm_vmscan_kswapd_sleep", "mm_vmscan_direct_reclaim_begin",
    "mm_vmscan_direct_reclaim_end", "mm_vmscan_memcg_reclaim_begin", "mm_vmscan_memcg_reclaim_end",
    "mm_vmscan_lru_isolate", "mm_vmscan_lru_shrink_inactive", "mm_vmscan_lru_shrink_active", "mm_vmscan_writepage",
    "mm_shrink_slab_start", "mm_shrink_slab_end", "mark_victim", "stap_try_to_free_pages_begin",
    "stap_try_to_free_pages_end", "stap_shrink_node_begin", "stap_shrink_node_end",
}
KERNEL_ONLY = {
    "kernel-147": {"mm_vmscan_inactive_list_is_low", "writeback_congestion_wait", "writeback_wait_iff_congested"},
    "kernel-372": {"writeback_congestion_wait", "writeback_wait_iff_congested"},
    "kernel-372-fixed": {"writeback_congestion_wait", "writeback_wait_iff_congested"},
    "upstream-6.6": {"mm_vmscan_throttled"},
}


@pytest.mark.parametrize("profile", list(KERNEL_ONLY))
def test_every_event_of_a_mixed_run_round_trips(profile: str, tmp_path: Path) -> None:
    tables = _mixed(profile).tables()
    assert {n for n, t in tables.items() if t.num_rows} >= COMMON | KERNEL_ONLY[profile]
    info = assert_round_trip(tables, tmp_path)
    text = (tmp_path / "run.log").read_text()
    if profile == "upstream-6.6":  # renamed event, hex pfn, 7-digit pid column, five flag columns
        assert " mm_vmscan_write_folio: page=ffffea" in text and " pfn=0x" in text
        assert "  swapper-1004    (   1004) [001] ..... " in text
    else:
        assert " mm_vmscan_writepage: page=ffffea" in text and " pfn=0x" not in text
        assert "  swapper-1004  ( 1004) [001] .... " in text
    assert " mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 " in text
    assert info["lines"] + info["stap_lines"] == sum(t.num_rows for t in tables.values())


@pytest.mark.parametrize("name", sorted(shipped()))
def test_shipped_scenario_round_trips(name: str, tmp_path: Path) -> None:
    scen, _ = load(name)
    sim, wl = scen.build(scen.resolve_profile())
    sim.run(wl)
    assert_round_trip(sim.tables(), tmp_path)


# ---------------------------------------------------------------- the formats are the kernel's


@pytest.mark.parametrize(("sample", "version"), [(LOG_147, "4.18.0-147"), (LOG_372, "4.18.0-372")])
def test_payloads_are_printed_as_the_real_kernel_printed_them(sample: Path, version: str, tmp_path: Path) -> None:
    """The shipped samples of 4.18.0-147 and -372, parsed and written again in their kernel's format:
    every event name and payload is the same text (only the line header differs: ns, tgid)."""
    written = tmp_path / "again.log"
    info = write_text(reclaimctl.read(str(sample)), written, kernel=version)
    assert not info["not_in_kernel"]

    def payloads(path: Path) -> list[str]:
        out = []
        for raw in path.read_text().splitlines():
            if raw.strip() and not raw.startswith("#"):
                out.append(raw.split(": ", 1)[1])  # after "ts: "
        return out

    original = payloads(sample)
    assert payloads(written) == original and len(original) == info["lines"]


@pytest.mark.parametrize("sample", [STAP_147, STAP_372])
def test_stap_lines_are_printed_as_the_notes_script_printed_them(sample: Path) -> None:
    """The systemtap samples of the notes, parsed and written again (to file objects): the same text."""
    ftrace, stap = io.StringIO(), io.StringIO()
    info = write_text(reclaimctl.read(str(sample)), ftrace, kernel="4.18.0-372", stap=stap)
    assert stap.getvalue() == sample.read_text() and info["lines"] == 0
    assert ftrace.getvalue().count("\n") == info["header_lines"]
