"""Invariants of the event schema registry, and the ``reclaimctl events`` command that shows it."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from conftest import run_cli

from reclaimctl.events import HEADER_COLUMNS, OTHER, REGISTRY, Event, Field, Registry, Variant
from reclaimctl.events.flags import DECODERS
from reclaimctl.events.schema import ARROW_TYPES, LATEST, format_version, parse_version
from reclaimctl.ingest.chunk import other_schema
from reclaimctl.ingest.tables import compile_registry

EVENTS = list(REGISTRY.values())
HEADER_NAMES = [n for n, _ in HEADER_COLUMNS]


def test_registry_is_not_empty_and_keyed_by_name():
    assert len(REGISTRY) >= 40
    for name, ev in REGISTRY.items():
        assert ev.name == name
    assert {"vmscan", "kmem", "writeback", "oom", "compaction", "stap"} <= {e.subsystem for e in EVENTS}


@pytest.mark.parametrize("ev", EVENTS, ids=lambda e: e.name)
def test_variants_only_use_labels_of_the_fields(ev: Event):
    labels = set(ev.label_to_field())
    assert ev.variants, "an event needs at least one format"
    for v in ev.variants:
        assert set(v.keys) <= labels, (v.since, set(v.keys) - labels)
        assert len(v.keys) == len(set(v.keys))
        assert set(v.hex) <= set(v.keys)
        lo, hi = v.range
        assert lo <= hi, (v.since, v.until)
        if v.name is not None:
            assert v.name in ev.names


def test_no_two_events_share_a_printed_name():
    names = Counter(n for ev in EVENTS for n in ev.names)
    assert [n for n, c in names.items() if c > 1] == []
    variant_names = {v.name for ev in EVENTS for v in ev.variants if v.name}
    for n in variant_names:
        assert names[n] == 1
    assert OTHER not in names


def test_lookup_by_every_printed_name():
    for ev in EVENTS:
        for n in ev.names:
            assert REGISTRY.lookup(n) is ev
            assert REGISTRY.lookup(f"{ev.subsystem}:{n}") is ev
    assert REGISTRY.lookup("mm_vmscan_write_folio") is REGISTRY["mm_vmscan_writepage"]
    assert REGISTRY.lookup("writeback_dirty_folio") is REGISTRY["writeback_dirty_page"]
    assert REGISTRY.lookup("mm_page_free_direct") is REGISTRY["mm_page_free"]
    assert REGISTRY.lookup("sched_switch") is None


def test_registry_rejects_duplicates():
    ev = REGISTRY["mm_vmscan_kswapd_sleep"]
    with pytest.raises(ValueError, match="registered twice"):
        Registry([ev, ev])
    alias = Event("other_name", "vmscan", (Field("nid", "i32"),), (Variant("2.6.36", None, ("nid",)),),
                  aliases=("mm_vmscan_kswapd_sleep",))
    with pytest.raises(ValueError, match="registered twice"):
        Registry([ev, alias])


@pytest.mark.parametrize("ev", EVENTS, ids=lambda e: e.name)
def test_schema_has_the_header_columns_first(ev: Event):
    schema = ev.schema()
    assert schema.names[: len(HEADER_COLUMNS)] == HEADER_NAMES
    for (name, typ), field in zip(HEADER_COLUMNS, schema, strict=False):
        assert field.name == name and field.type == typ
    rest = schema.names[len(HEADER_COLUMNS):]
    assert rest == [f.name for f in ev.fields] + [d.name for d in ev.derived]
    assert len(set(schema.names)) == len(schema.names)
    for f in ev.fields:
        assert schema.field(f.name).type == ARROW_TYPES[f.type]
    for d in ev.derived:
        assert schema.field(d.name).type == pa.bool_()


def test_header_column_types():
    assert HEADER_NAMES == ["ts_ns", "cpu", "pid", "tgid", "comm", "irq_flags", "line"]
    assert other_schema().names == [*HEADER_NAMES, "event", "payload"]


@pytest.mark.parametrize("ev", EVENTS, ids=lambda e: e.name)
def test_decoders_exist_and_fill_the_derived_columns(ev: Event):
    for d in ev.decoders:
        assert d in DECODERS
    if ev.derived:
        assert ev.decoders


def test_decoders_produce_exactly_the_derived_columns():
    """Run each event's decoders on a one-row batch of its parsed columns."""
    for ev in EVENTS:
        if not ev.decoders:
            continue
        cols = {f.name: pa.nulls(1, f.arrow_type) for f in ev.fields}
        for f in ev.fields:
            if f.name == "flags":
                cols[f.name] = pa.array(["RECLAIM_WB_FILE|RECLAIM_WB_ASYNC"]).dictionary_encode()
            elif f.name == "lru":
                cols[f.name] = pa.array(["active_anon"]).dictionary_encode()
            elif f.name == "gfp_flags":
                cols[f.name] = pa.array(["GFP_NOFS"]).dictionary_encode()
        produced: set[str] = set()
        for d in ev.decoders:
            out = DECODERS[d](cols)
            produced |= set(out)
            cols.update(out)
        field_names = {f.name for f in ev.fields}
        assert {d.name for d in ev.derived} <= produced, ev.name
        assert produced <= {d.name for d in ev.derived} | field_names, ev.name


def test_stap_events_are_not_text_events():
    text = {e.name for e in REGISTRY.text_events()}
    assert not any(n.startswith("stap_") for n in text)
    assert {e.name for e in REGISTRY.subsystem("stap")} == {
        "stap_try_to_free_pages_begin", "stap_try_to_free_pages_end", "stap_shrink_node_begin",
        "stap_shrink_node_end", "stap_record"}


def test_registry_compiles_for_the_parser():
    c = compile_registry()
    assert [e.name for e in c.events] == [e.name for e in REGISTRY.text_events()]
    for i, ev in enumerate(c.events):
        assert set(c.labels[i]) == set(ev.label_to_field())
        assert int(c.n_var[i]) == len(ev.variants)


@pytest.mark.parametrize(
    ("text", "version"), [("2.6.36", (2, 636)), ("3.4", (3, 4)), ("4.18", (4, 18)), ("6.10", (6, 10))]
)
def test_versions(text, version):
    assert parse_version(text) == version
    assert format_version(version) == text
    assert parse_version("2.6.36") < parse_version("3.0") < parse_version("4.9") < parse_version("4.10")
    assert parse_version(None) == LATEST and format_version(LATEST) == "latest"


# ---------------------------------------------------------------- reclaimctl events


def test_events_lists_every_event():
    proc = run_cli("events")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.split()}
    for ev in EVENTS:
        assert ev.name in listed, ev.name
    assert "mm_vmscan_write_folio" in proc.stdout  # shown as "also printed as"


def test_events_lists_every_event_in_a_pipe():
    proc = run_cli("events", env={"COLUMNS": None, "LINES": None})
    assert proc.returncode == 0, proc.stderr
    for ev in EVENTS:
        assert ev.name in proc.stdout, ev.name


def test_events_shows_the_formats_of_one_event():
    proc = run_cli("events", "mm_vmscan_lru_isolate")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    ev = REGISTRY["mm_vmscan_lru_isolate"]
    assert out.startswith("mm_vmscan_lru_isolate (vmscan)")
    format_lines = out.split("formats", 1)[1].splitlines()
    for v in ev.variants:
        lo, hi = v.range
        kernels = f"{format_version(lo)} - {format_version(hi)}"
        match = [ln for ln in format_lines if kernels in ln]
        assert match, kernels
        assert " ".join(v.keys) in match[0]
    assert "6.7 - latest" in out and "4.11 - 6.6" in out
    # columns: header columns, fields with their printed labels, decoded columns
    for name in [*HEADER_NAMES, "highest_zoneidx", "nr_skipped", "is_file", "is_active"]:
        assert name in out
    assert "classzone_idx / classzone / highest_zoneidx" in out


def test_events_resolves_a_printed_name():
    proc = run_cli("events", "vmscan:mm_vmscan_write_folio")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mm_vmscan_writepage (vmscan)")
    assert "mm_vmscan_write_folio: page pfn flags" in proc.stdout
    assert "5.18 - latest" in proc.stdout
