"""Inputs that are wrong, damaged or odd: each is reported (one line on the CLI) or accounted for."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import LOG_372, accounting_holds, assert_one_line_error, rows, run_cli

import reclaimctl
from reclaimctl.ingest import ParseError

SLEEP = "  a-1 [000] .... 1.{:06d}: mm_vmscan_kswapd_sleep: nid=0\n"
INACTIVE_66 = ("nid=0 nr_scanned=32 nr_reclaimed=9 nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 "
               "nr_activate_anon=0 nr_activate_file=0 nr_ref_keep=23 nr_unmap_fail=0 priority=5 "
               "flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC")

WRAPPED = (
    "              dd-157706  [027] ..... 304085.178485: mm_vmscan_lru_shrink_inactive: nid=1 nr_scanned=32 "
    "nr_reclaimed=9 \n"
    "              nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 nr_activate_anon=0 nr_activate_file=0 \n"
    "              nr_ref_keep=23 nr_unmap_fail=0 priority=5 flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC\n"
)


# ---------------------------------------------------------------- sources that cannot be read


def test_missing_file(tmp_path):
    path = tmp_path / "nope.log"
    with pytest.raises(ParseError, match="no such file"):
        reclaimctl.read(str(path))
    line = assert_one_line_error(run_cli("parse", str(path)))
    assert line.startswith("reclaimctl: error: ")
    assert "nope.log" in line and "no such file" in line


def test_directory(tmp_path):
    with pytest.raises(ParseError, match="is a directory"):
        reclaimctl.read(str(tmp_path))
    line = assert_one_line_error(run_cli("parse", str(tmp_path)))
    assert "is a directory" in line and "meta.json" in line


def test_binary_data(tmp_path):
    path = tmp_path / "bin.log"
    path.write_bytes(b"abc\x00def\n" + bytes(range(256)) * 4)
    with pytest.raises(ParseError, match="NUL byte at offset 3"):
        reclaimctl.read(str(path))
    line = assert_one_line_error(run_cli("parse", str(path)))
    assert "binary data" in line and "bin.log" in line


@pytest.mark.parametrize(
    ("magic", "hint"),
    [(b"\x17\x08\x44tracing6\x00\x00", "trace-cmd report"), (b"PERFILE2\x00\x00\x00", "perf script")],
)
def test_binary_trace_files_get_a_hint(tmp_path, magic, hint):
    path = tmp_path / "trace.dat"
    path.write_bytes(magic + b"\x00" * 100)
    line = assert_one_line_error(run_cli("parse", str(path)))
    assert hint in line


def test_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    t = reclaimctl.read(str(path))
    assert len(t) == 0
    assert t.meta.lines == {"total": 0, "parsed": 0, "unknown_event": 0, "malformed": 0, "non_event": 0}
    assert any("empty input" in w for w in t.meta.warnings)
    assert t.meta.kernel["range"] == "unknown"
    assert t.meta.first_ns is None
    proc = run_cli("parse", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "total 0" in proc.stdout


def test_only_comments_and_blanks(parse_text):
    t = parse_text("# tracer: nop\n#\n\n   \n##### CPU 3 buffer started ####\n")
    assert t.meta.lines == {"total": 5, "parsed": 0, "unknown_event": 0, "malformed": 0, "non_event": 5}
    assert t.meta.non_event["comment"] == 3 and t.meta.non_event["blank"] == 2


# ---------------------------------------------------------------- damaged lines


@pytest.mark.parametrize(
    "last",
    [
        f"  a-1 [000] .... 1.000009: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}"[:120],  # "...nr_wr"
        f"  a-1 [000] .... 1.000009: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}".split(" priority")[0] + " prio",
        f"  a-1 [000] .... 1.000009: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}".split("flags=")[0] + "flags=",
        "  a-1 [000] .... 1.000009: mm_vmscan_kswapd_sleep: ni",
        "  a-1 [000] .... 1.000009: mm_vmscan_kswapd_sleep: nid=",
        "  a-1 [000] .... 1.000009: mm_vmscan_kswapd_sleep:",
        "  a-1 [000] .... 1.0000",
        "  a-1 [00",
    ],
)
def test_truncated_last_line(parse_text, last):
    assert not last.endswith("\n")
    t = parse_text(SLEEP.format(1) + SLEEP.format(2) + last)
    m = t.meta
    assert m.lines == {"total": 3, "parsed": 2, "unknown_event": 0, "malformed": 1, "non_event": 0}
    assert [s["line"] for s in m.malformed_samples] == [3]
    assert m.malformed_samples[0]["text"] == last
    assert t["mm_vmscan_kswapd_sleep"].num_rows == 2
    assert t["mm_vmscan_lru_shrink_inactive"].num_rows == 0
    assert any("1 malformed lines" in w for w in m.warnings)


def test_truncated_known_event_says_truncated(parse_text):
    last = f"  a-1 [000] .... 1.000009: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}"[:120]
    t = parse_text(SLEEP.format(1) + last)
    reason = t.meta.malformed_samples[0]["reason"]
    assert "ends early" in reason
    assert "mm_vmscan_lru_shrink_inactive" in reason


def test_same_line_with_newline_is_incomplete_not_malformed(parse_text):
    # the same cut line followed by more lines is not at the end of the file: kept with nulls
    cut = f"  a-1 [000] .... 1.000009: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}".split(" priority")[0]
    t = parse_text(cut + "\n" + SLEEP.format(10))
    assert t.meta.lines["parsed"] == 2 and t.meta.lines["malformed"] == 0
    assert t.meta.incomplete == {"mm_vmscan_lru_shrink_inactive": 1}
    r = rows(t, "mm_vmscan_lru_shrink_inactive")[0]
    assert (r["nr_ref_keep"], r["priority"], r["flags"]) == (23, None, None)


def test_wrapped_line_joined(parse_text):
    t = parse_text(WRAPPED + "              dd-157706  [027] ..... 304085.178490: mm_vmscan_kswapd_sleep: nid=1\n")
    m = t.meta
    assert m.lines == {"total": 4, "parsed": 2, "unknown_event": 0, "malformed": 0, "non_event": 2}
    assert m.non_event["continuation"] == 2
    assert m.incomplete == {}
    assert any("2 wrapped lines" in w for w in m.warnings)
    r = rows(t, "mm_vmscan_lru_shrink_inactive")
    assert len(r) == 1
    r = r[0]
    assert (r["nid"], r["nr_scanned"], r["nr_reclaimed"], r["nr_ref_keep"], r["nr_unmap_fail"], r["priority"]) == (
        1, 32, 9, 23, 0, 5)
    assert (r["flags"], r["is_file"], r["is_sync"]) == ("RECLAIM_WB_ANON|RECLAIM_WB_ASYNC", False, False)
    assert (r["line"], r["pid"], r["cpu"], r["irq_flags"]) == (1, 157706, 27, ".....")
    assert rows(t, "mm_vmscan_kswapd_sleep")[0]["line"] == 4
    assert m.kernel["range"] == ">= 5.2"


def test_wrapped_line_at_end_of_file(parse_text):
    t = parse_text(WRAPPED.rstrip("\n"))
    assert t.meta.lines["parsed"] == 1 and t.meta.non_event["continuation"] == 2
    assert rows(t, "mm_vmscan_lru_shrink_inactive")[0]["flags"] == "RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"


def test_lost_events_marker(parse_text):
    text = (
        SLEEP.format(1)
        + "CPU:6 [LOST 3 EVENTS]\n"
        + SLEEP.format(2)
        + "CPU:2 [LOST 10 EVENTS]\n"
        + "CPU:6 [LOST 4 EVENTS]\n"
    )
    t = parse_text(text)
    m = t.meta
    assert m.lines == {"total": 5, "parsed": 2, "unknown_event": 0, "malformed": 0, "non_event": 3}
    assert m.non_event["lost_marker"] == 3
    assert m.lost_events == 17
    assert m.lost_by_cpu == {"2": 10, "6": 7}
    lost = [w for w in m.warnings if "lost" in w]
    assert len(lost) == 1 and "17 events were lost" in lost[0] and "2, 6" in lost[0]


def test_buffer_overrun_header(parse_text):
    text = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 100/150   #P:4\n#\n" + SLEEP.format(1)
    t = parse_text(text)
    assert t.meta.buffer_overrun == 50
    assert any("overwrote 50 events" in w for w in t.meta.warnings)
    assert t.meta.lines["non_event"] == 4


def test_no_overrun_when_counts_agree(parse_text):
    t = parse_text("# entries-in-buffer/entries-written: 150/150   #P:4\n" + SLEEP.format(1))
    assert t.meta.buffer_overrun == 0
    assert not any("overwrote" in w for w in t.meta.warnings)


def test_garbage_line_in_the_middle(parse_text):
    text = SLEEP.format(1) + SLEEP.format(2) + "this is garbage &&& not a trace line\n" + SLEEP.format(3)
    t = parse_text(text)
    m = t.meta
    assert m.lines == {"total": 4, "parsed": 3, "unknown_event": 0, "malformed": 1, "non_event": 0}
    assert m.malformed_samples == [{
        "line": 3, "text": "this is garbage &&& not a trace line",
        "reason": m.malformed_samples[0]["reason"],
    }]
    assert "expected" in m.malformed_samples[0]["reason"]
    assert t["mm_vmscan_kswapd_sleep"]["line"].to_pylist() == [1, 2, 4]
    assert any("first at line 3" in w for w in m.warnings)


def test_bad_value(parse_text):
    t = parse_text(SLEEP.format(1) + "  a-1 [000] .... 1.000002: mm_vmscan_kswapd_sleep: nid=zero\n")
    m = t.meta
    assert m.lines["malformed"] == 1 and m.lines["parsed"] == 1
    assert m.malformed_samples[0]["line"] == 2
    assert "nid" in m.malformed_samples[0]["reason"]


def test_stacktrace_lines(parse_text):
    text = SLEEP.format(1) + " => balance_pgdat\n => kswapd <ffffffff811f3c71>\n" + SLEEP.format(2)
    t = parse_text(text)
    assert t.meta.non_event["stacktrace"] == 2
    assert t.meta.lines["malformed"] == 0
    assert t.meta.unknown_labels == []


def test_stacktrace_after_incomplete_event(parse_text):
    text = "  a-1 [000] .... 1.000001: mm_vmscan_kswapd_wake: nid=0\n => balance_pgdat\n => kswapd\n"
    t = parse_text(text)
    assert t.meta.non_event["stacktrace"] == 2
    assert t.meta.incomplete == {"mm_vmscan_kswapd_wake": 1}
    assert t.meta.unknown_labels == []


def test_no_break_space_after_the_event_name(parse_text):
    t = parse_text("  a-1 [000] .... 1.000001: mm_vmscan_kswapd_sleep:\u00a0nid=3\n")
    assert t.meta.lines["parsed"] == 1
    assert rows(t, "mm_vmscan_kswapd_sleep")[0]["nid"] == 3


# ---------------------------------------------------------------- --strict


def test_strict_stops_at_the_first_malformed_line(tmp_path):
    path = tmp_path / "t.log"
    path.write_text(SLEEP.format(1) * 7 + "this is garbage\n" + SLEEP.format(2) + "more garbage\n")
    with pytest.raises(ParseError) as exc:
        reclaimctl.read(str(path), strict=True)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:8: ")
    assert "'this is garbage'" in msg
    # without --strict the same file parses, with both lines accounted
    t = reclaimctl.read(str(path))
    assert t.meta.lines["malformed"] == 2 and accounting_holds(t.meta)


def test_strict_on_the_cli(tmp_path):
    path = tmp_path / "t.log"
    path.write_text(SLEEP.format(1) * 7 + "this is garbage\n")
    line = assert_one_line_error(run_cli("parse", "--strict", str(path)))
    assert line.startswith(f"reclaimctl: error: {path}:8: ")
    assert line.endswith("got 'this is garbage'")
    proc = run_cli("parse", str(path), "--json")
    assert proc.returncode == 0


def test_strict_truncated_last_line(tmp_path):
    path = tmp_path / "t.log"
    path.write_text(SLEEP.format(1) + "  a-1 [000] .... 1.000009: mm_vmscan_kswapd_sleep: nid=")
    line = assert_one_line_error(run_cli("parse", "--strict", str(path)))
    assert line.startswith(f"reclaimctl: error: {path}:2: ")
    msg = line.split(f"{path}:2: ", 1)[1]
    assert "ends early" in msg and "mm_vmscan_kswapd_sleep" in msg


def test_strict_passes_a_clean_file():
    t = reclaimctl.read(str(LOG_372), strict=True)
    assert t.meta.lines["parsed"] == 36


def test_strict_on_stdin():
    line = assert_one_line_error(run_cli("parse", "-", "--strict", stdin=SLEEP.format(1).encode() + b"garbage\n"))
    assert line.startswith("reclaimctl: error: <stdin>:2: ")


# ---------------------------------------------------------------- CLI errors: one line, no traceback


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("parse", "traces/kernel-372.log", "--events", "foo"), "unknown event or subsystem 'foo'"),
        (("parse", "no-such-sample"), "no such file, and no sample of that name"),
        (("events", "nope"), "no event 'nope'"),
    ],
)
def test_cli_errors_are_one_line(args, needle):
    line = assert_one_line_error(run_cli(*args))
    assert line.startswith("reclaimctl: error: ")
    assert needle in line


def test_cli_bad_option_value_is_one_line():
    proc = run_cli("parse", "traces/kernel-372.log", "--format", "bogus")
    assert proc.returncode == 2
    line = assert_one_line_error(proc)
    assert line.startswith("reclaimctl: error: ")


def test_fifo_path(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", f"open({str(fifo)!r}, 'wb').write(open({str(LOG_372)!r}, 'rb').read())"],
        stderr=subprocess.DEVNULL,
    )
    try:
        proc = run_cli("parse", "--json", str(fifo))
    finally:
        try:
            writer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["lines"]["parsed"] == 36
