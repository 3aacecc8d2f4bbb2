"""Compressed input, stdin, saved directories, the event filter, and chunk boundaries: the same
trace must give the same tables and the same line accounting whichever way it is read."""

from __future__ import annotations

import gzip
import importlib.util
import json
import lzma
import zlib
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from conftest import LOG_147, LOG_372, REPO, STAP_372, accounting_holds, rows, run_cli

import reclaimctl
from reclaimctl.events.tables import EventTables
from reclaimctl.ingest.reader import TraceReader

COMPRESSORS = {
    "gz": ("gzip", gzip.compress),
    "xz": ("xz", lzma.compress),
    "zst": ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
}
META_KEYS = ("lines", "non_event", "rows", "first_ns", "last_ns", "cpus", "top_tasks", "lost_events",
             "unknown_labels", "incomplete", "malformed_samples", "buffer_overrun")


def as_rows(tables) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    return {name: tables[name].to_pylist() for name in sorted(tables)}


def meta_facts(meta) -> dict:  # type: ignore[no-untyped-def]
    facts = {k: getattr(meta, k) for k in META_KEYS}
    facts["kernel"] = meta.kernel["range"]
    # top_tasks is most_common(20): the order of ties (and which tied tasks make the cut) is arbitrary
    tasks = sorted(meta.top_tasks, key=lambda t: (-t["events"], t["comm"], t["pid"]))
    if len(tasks) == 20:
        tasks = [t for t in tasks if t["events"] > tasks[-1]["events"]]
    facts["top_tasks"] = tasks
    return facts


def read_chunked(path: str, chunk_bytes: int, workers: int = 2) -> tuple[dict[str, pa.Table], object]:
    reader = TraceReader(path, chunk_bytes=chunk_bytes, workers=workers)
    parts: dict[str, list[pa.RecordBatch]] = defaultdict(list)
    for batches in reader.batches():
        for name, batch in batches.items():
            parts[name].append(batch)
    return {n: pa.Table.from_batches(bs) for n, bs in parts.items()}, reader.meta


# ---------------------------------------------------------------- compressed files


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
@pytest.mark.parametrize("sample", [LOG_372, LOG_147, STAP_372], ids=lambda p: p.name)
def test_compressed_equals_plain(tmp_path, sample, ext):
    name, compress = COMPRESSORS[ext]
    path = tmp_path / f"{sample.name}.{ext}"
    path.write_bytes(compress(sample.read_bytes()))
    plain = reclaimctl.read(str(sample))
    packed = reclaimctl.read(str(path))
    assert packed.meta.compression == name
    assert plain.meta.compression is None
    assert packed.meta.format == plain.meta.format
    assert as_rows(packed) == as_rows(plain)
    assert meta_facts(packed.meta) == meta_facts(plain.meta)
    assert accounting_holds(packed.meta)


def test_compression_is_told_by_content_not_name(tmp_path):
    path = tmp_path / "trace.log"  # gzip data under a plain name
    path.write_bytes(gzip.compress(LOG_372.read_bytes()))
    t = reclaimctl.read(str(path))
    assert t.meta.compression == "gzip"
    assert t.meta.lines["parsed"] == 36


def test_concatenated_zstd_frames(tmp_path):
    data = LOG_147.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    c = zstandard.ZstdCompressor()
    path = tmp_path / "two-frames.zst"
    path.write_bytes(c.compress(data[:cut]) + c.compress(data[cut:]))
    assert as_rows(reclaimctl.read(str(path))) == as_rows(reclaimctl.read(str(LOG_147)))


def test_truncated_gzip_warns(tmp_path):
    data = gzip.compress(LOG_147.read_bytes())
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    proc = run_cli("parse", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert any("compressed data is damaged" in w for w in meta["warnings"])
    assert accounting_holds(reclaimctl.read(str(path)).meta)


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    src = LOG_147.read_bytes()
    data = gzip.compress(src)
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    readable = zlib.decompressobj(wbits=31).decompress(data[: len(data) // 2])
    assert len(readable) > 0 and src.startswith(readable)
    whole_lines = readable.count(b"\n")
    assert whole_lines > 10
    t = reclaimctl.read(str(path))
    assert t.meta.lines["parsed"] >= whole_lines


# ---------------------------------------------------------------- stdin


@pytest.mark.parametrize("ext", ["plain", "gz", "zst", "xz"])
def test_stdin_equals_file(ext):
    data = LOG_147.read_bytes()
    if ext != "plain":
        data = COMPRESSORS[ext][1](data)
    proc = run_cli("parse", "-", "--json", stdin=data)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    plain = reclaimctl.read(str(LOG_147)).meta
    assert meta["source"] == "<stdin>"
    assert meta["compression"] == (None if ext == "plain" else COMPRESSORS[ext][0])
    for key in ("lines", "non_event", "rows", "first_ns", "last_ns", "cpus", "top_tasks"):
        assert meta[key] == getattr(plain, key), key
    assert meta["kernel"]["range"] == "4.11 - 5.1"


def test_stdin_tables_equal_file_tables(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("parse", "-", "-o", str(out), "--json", stdin=LOG_372.read_bytes())
    assert proc.returncode == 0, proc.stderr
    saved = EventTables.load(str(out))
    assert as_rows(saved) == as_rows(reclaimctl.read(str(LOG_372)))


def test_stdin_stap():
    proc = run_cli("parse", "-", "--json", stdin=STAP_372.read_bytes())
    meta = json.loads(proc.stdout)
    assert meta["format"] == "stap"
    assert meta["rows"]["stap_shrink_node_end"] == 40
    assert meta["lines"]["total"] == 82


# ---------------------------------------------------------------- parse -o DIR, and DIR as a source


def test_output_directory_round_trip(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("parse", str(LOG_147), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    plain = reclaimctl.read(str(LOG_147))
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{n}.parquet" for n in plain] + ["meta.json"])
    for name in plain:
        table = pq.read_table(out / f"{name}.parquet")
        assert table.schema.names == plain[name].schema.names
        assert table.to_pylist() == plain[name].to_pylist()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["lines"] == plain.meta.lines
    assert meta["rows"] == plain.meta.rows
    loaded = EventTables.load(str(out))
    assert as_rows(loaded) == as_rows(plain)
    assert loaded.meta.kernel["range"] == "4.11 - 5.1"


def test_saved_directory_prints_the_summary(tmp_path):
    out = tmp_path / "out"
    assert run_cli("parse", str(LOG_147), "-o", str(out)).returncode == 0
    proc = run_cli("parse", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "lines: total 92 = parsed 92 + unknown_event 0 + malformed 0 + non_event 0" in proc.stdout
    assert "kernel: 4.11 - 5.1" in proc.stdout
    for name in ("mm_vmscan_lru_isolate", "mm_vmscan_lru_shrink_inactive", "mm_vmscan_inactive_list_is_low"):
        assert name in proc.stdout
    assert "httpd" in proc.stdout
    proc = run_cli("parse", str(out), "--json")
    assert json.loads(proc.stdout)["rows"]["mm_vmscan_lru_isolate"] == 37


def test_sample_to_directory(tmp_path):
    out = tmp_path / "out"
    assert run_cli("parse", "kernel-372", "-o", str(out)).returncode == 0
    loaded = EventTables.load(str(out))
    assert loaded["stap_shrink_node_end"].num_rows == 40
    assert loaded["mm_vmscan_lru_isolate"].num_rows == 17
    assert loaded.meta.lines["total"] == 36 + 82


def test_output_directory_reused(tmp_path):
    out = tmp_path / "out"
    assert run_cli("parse", str(LOG_147), "-o", str(out)).returncode == 0
    assert run_cli("parse", str(LOG_372), "-o", str(out)).returncode == 0
    loaded = EventTables.load(str(out))
    assert loaded.meta.rows == reclaimctl.read(str(LOG_372)).meta.rows
    assert sorted(loaded) == sorted(reclaimctl.read(str(LOG_372)))


# ---------------------------------------------------------------- --events


MIXED = (
    "  a-1 [000] .... 1.000001: mm_vmscan_kswapd_sleep: nid=0\n"
    "  a-1 [000] .... 1.000002: mm_page_alloc: page=(null) pfn=0 order=0 migratetype=1 gfp_flags=none\n"
    "  a-1 [000] .... 1.000003: sched_switch: prev_comm=a prev_pid=1\n"
    "  a-1 [000] .... 1.000004: oom_score_adj_update: pid=5 comm=x oom_score_adj=0\n"
    "# a comment\n"
    "garbage\n"
)


def test_events_filter_keeps_vmscan_tables_only(tmp_path):
    src = tmp_path / "mixed.log"
    src.write_bytes(LOG_147.read_bytes() + MIXED.encode())
    out = tmp_path / "out"
    proc = run_cli("parse", str(src), "--events", "vmscan", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert meta["lines"] == {"total": 98, "parsed": 95, "unknown_event": 1, "malformed": 1, "non_event": 1}
    names = sorted(p.name[: -len(".parquet")] for p in out.glob("*.parquet"))
    assert names == sorted([*reclaimctl.read(str(LOG_147)), "mm_vmscan_kswapd_sleep"])
    t = reclaimctl.read(str(src), events=["vmscan"])
    assert set(t) == set(names)
    assert t.meta.lines == meta["lines"]
    assert t["mm_page_alloc"].num_rows == 0  # a known event that was filtered out reads as empty


# ---------------------------------------------------------------- chunk boundaries


@pytest.fixture(scope="module")
def gen_trace():
    spec = importlib.util.spec_from_file_location("gen_trace", REPO / "benchmarks" / "gen_trace.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module", params=["4.18-372", "4.18-147", "6.6"])
def generated(request, gen_trace, tmp_path_factory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("gen") / f"gen-{request.param}.log"
    n = gen_trace.generate(str(path), 300_000, kernel=request.param, seed=7, cpus=8, procs=20)
    return path, n


@pytest.mark.parametrize("chunk_bytes", [4096, 1000, 64])
def test_chunk_boundaries(generated, chunk_bytes):
    path, n_events = generated
    whole = reclaimctl.read(str(path))
    assert whole.meta.lines["parsed"] == n_events
    assert whole.meta.lines["malformed"] == 0 and whole.meta.lines["unknown_event"] == 0
    tables, meta = read_chunked(str(path), chunk_bytes=chunk_bytes, workers=2)
    assert sorted(tables) == sorted(whole)
    for name in whole:
        assert tables[name].to_pylist() == whole[name].to_pylist(), name
    assert meta_facts(meta) == meta_facts(whole.meta)
    lines = sorted(x for t in tables.values() for x in t["line"].to_pylist())
    assert len(lines) == len(set(lines)) == n_events
    assert lines[-1] == meta.lines["total"]


def test_chunk_boundaries_stap():
    whole = reclaimctl.read(str(STAP_372))
    tables, meta = read_chunked(str(STAP_372), chunk_bytes=256)
    assert {n: t.to_pylist() for n, t in tables.items()} == as_rows(whole)
    assert meta.lines == whole.meta.lines


def test_chunk_boundary_with_malformed_lines(tmp_path):
    sleep = "  a-1 [000] .... 1.{:06d}: mm_vmscan_kswapd_sleep: nid=0\n"
    text = "".join(sleep.format(i) if i % 37 else "garbage line\n" for i in range(1, 400))
    path = tmp_path / "t.log"
    path.write_text(text)
    whole = reclaimctl.read(str(path))
    _, meta = read_chunked(str(path), chunk_bytes=512)
    assert [m["line"] for m in meta.malformed_samples] == list(range(37, 400, 37))
    assert meta.malformed_samples == whole.meta.malformed_samples
    assert meta.lines == whole.meta.lines


def _wrapped_at_boundary(chunk: int) -> str:
    filler = "  a-1 [000] .... 1.000001: mm_vmscan_kswapd_sleep: nid=0\n"
    head = ("              dd-157706  [027] ..... 304085.178485: mm_vmscan_lru_shrink_inactive: nid=1 "
            "nr_scanned=32 nr_reclaimed=9 \n")
    cont = ("              nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 "
            "nr_activate_file=0 \n"
            "              nr_ref_keep=23 nr_unmap_fail=0 priority=5 flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC\n")
    n = (chunk - len(head)) // len(filler)
    pad = chunk - len(head) - n * len(filler)
    text = "#" * (pad - 1) + "\n" + filler * n + head + cont + filler * 3
    assert text.index(cont) == chunk  # the continuation lines start the second block
    return text


def test_wrapped_line_inside_one_block(tmp_path):
    path = tmp_path / "wrap.log"
    path.write_text(_wrapped_at_boundary(4096))
    t = reclaimctl.read(str(path))
    r = rows(t, "mm_vmscan_lru_shrink_inactive")
    assert [(x["nr_ref_keep"], x["priority"]) for x in r] == [(23, 5)]
    assert t.meta.non_event["continuation"] == 2 and t.meta.lines["malformed"] == 0


def test_wrapped_line_across_a_block_boundary(tmp_path):
    path = tmp_path / "wrap.log"
    path.write_text(_wrapped_at_boundary(4096))
    whole = reclaimctl.read(str(path))
    tables, meta = read_chunked(str(path), chunk_bytes=4096)
    assert meta.lines == whole.meta.lines
    assert tables["mm_vmscan_lru_shrink_inactive"].to_pylist() == whole["mm_vmscan_lru_shrink_inactive"].to_pylist()


def test_line_numbers_past_the_row_capacity(tmp_path):
    n = 200_000
    path = tmp_path / "many.log"
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(f"  a-1 [000] .... {1 + i / 1e6:.6f}: mm_vmscan_kswapd_sleep: nid=0\n")
        fh.write("garbage line\n")
    t = reclaimctl.read(str(path))
    assert t.meta.lines["parsed"] == n
    lines = t["mm_vmscan_kswapd_sleep"]["line"].to_pylist()
    assert lines[131071:131074] == [131072, 131073, 131074]
    assert lines == list(range(1, n + 1))
    assert [m["line"] for m in t.meta.malformed_samples] == [n + 1]
