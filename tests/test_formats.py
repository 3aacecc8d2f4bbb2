"""Small hand-written inputs for every line shape and payload format the parser reads.

Each test writes its input into tmp_path (see the ``parse_text`` fixture, which also checks that
total = parsed + unknown_event + malformed + non_event for every input).
"""

from __future__ import annotations

import pytest
from conftest import rows

FTRACE_HEADER = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 4/4   #P:16
#
#                              _-----=> irqs-off
#                             / _----=> need-resched
#                            | / _---=> hardirq/softirq
#                            || / _--=> preempt-depth
#                            ||| /     delay
#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION
#              | |       |   ||||       |         |
"""

BEGIN_372 = "order=0 gfp_flags=GFP_HIGHUSER_MOVABLE"
ISOLATE_372 = ("isolate_mode=0 classzone=2 order=0 nr_requested=1 nr_scanned=1 nr_skipped=0 nr_taken=1 "
               "lru=inactive_file")
INACTIVE_66 = ("nid=1 nr_scanned=32 nr_reclaimed=9 nr_dirty=0 nr_writeback=0 nr_congested=0 nr_immediate=0 "
               "nr_activate_anon=2 nr_activate_file=0 nr_ref_keep=23 nr_unmap_fail=0 priority=5 "
               "flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC")


def sleep_line(head: str, nid: int) -> str:
    return f"{head} mm_vmscan_kswapd_sleep: nid={nid}\n"


def by_nid(tables) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    return {r["nid"]: r for r in rows(tables, "mm_vmscan_kswapd_sleep")}


# ---------------------------------------------------------------- ftrace line headers


def test_ftrace_file_with_header_and_legend(parse_text):
    text = FTRACE_HEADER + (
        f"            bash-16737 [010] .... 426414.625682: mm_vmscan_memcg_reclaim_begin: {BEGIN_372}\n"
        f"            bash-16737 [010] dN.. 426414.658469: mm_vmscan_lru_isolate: {ISOLATE_372}\n"
        "            bash-16737 [010] .N.. 426415.669056: mm_vmscan_memcg_reclaim_end: nr_reclaimed=33\n"
    )
    t = parse_text(text)
    m = t.meta
    assert m.format == "ftrace"
    assert m.lines == {"total": 14, "parsed": 3, "unknown_event": 0, "malformed": 0, "non_event": 11}
    assert m.non_event["comment"] == 11
    assert m.buffer_overrun == 0
    assert m.malformed_samples == []
    iso = rows(t, "mm_vmscan_lru_isolate")[0]
    assert iso["line"] == 13
    assert iso["irq_flags"] == "dN.."
    assert iso["ts_ns"] == 426414658469000
    assert rows(t, "mm_vmscan_memcg_reclaim_end")[0]["nr_reclaimed"] == 33


def test_irq_info_columns_4_5_and_none(parse_text):
    text = (
        sleep_line("            bash-100 [001] d.h1 10.000001:", 1)
        + sleep_line("            bash-100 [001] dNs2. 10.000002:", 2)
        + sleep_line("            bash-100 [001] 10.000003:", 3)
        + sleep_line("            bash-100 [001] ....  10.000004:", 4)  # two spaces before the ts
    )
    r = by_nid(parse_text(text))
    assert r[1]["irq_flags"] == "d.h1"
    assert r[2]["irq_flags"] == "dNs2."
    assert r[3]["irq_flags"] is None
    assert r[4]["irq_flags"] == "...."
    assert [r[i]["ts_ns"] for i in (1, 2, 3, 4)] == [10000001000, 10000002000, 10000003000, 10000004000]
    assert {x["comm"] for x in r.values()} == {"bash"}
    assert {x["pid"] for x in r.values()} == {100}


def test_tgid_column(parse_text):
    text = (
        sleep_line("     gnome-shell-2222  (   2200) [003] .... 20.000001:", 1)
        + sleep_line("            bash-16737 (-----) [004] .... 20.000002:", 2)
        + sleep_line("     kworker/0:1-1234567 (1234567) [005] .... 20.000003:", 3)
    )
    r = by_nid(parse_text(text))
    assert (r[1]["comm"], r[1]["pid"], r[1]["tgid"], r[1]["cpu"]) == ("gnome-shell", 2222, 2200, 3)
    assert (r[2]["comm"], r[2]["pid"], r[2]["tgid"], r[2]["cpu"]) == ("bash", 16737, None, 4)
    assert (r[3]["comm"], r[3]["pid"], r[3]["tgid"]) == ("kworker/0:1", 1234567, 1234567)


def test_six_and_nine_decimal_timestamps(parse_text):
    text = (
        sleep_line("  a-1 [000] .... 426414.625682:", 1)
        + sleep_line("  a-1 [000] .... 426414.625682123:", 2)
        + sleep_line("  a-1 [000] ....     12.000001:", 3)
    )
    r = by_nid(parse_text(text))
    assert r[1]["ts_ns"] == 426414625682000
    assert r[2]["ts_ns"] == 426414625682123
    assert r[3]["ts_ns"] == 12000001000


@pytest.mark.parametrize(
    ("head", "comm", "pid"),
    [
        ("     Web Content-3000 [001] .... 1.000001:", "Web Content", 3000),
        ("           a-b-c-3001 [001] .... 1.000001:", "a-b-c", 3001),
        ("          foo-12-345 [001] .... 1.000001:", "foo-12", 345),
        ("          ~x#y/z-3002 [001] .... 1.000001:", "~x#y/z", 3002),
        ("     GC Thread#0-3004 [001] .... 1.000001:", "GC Thread#0", 3004),
        ("   kworker/u16:2-3005 [001] .... 1.000001:", "kworker/u16:2", 3005),
        ("           <...>-3003 [001] .... 1.000001:", "<...>", 3003),
        ("          <idle>-0     [001] .... 1.000001:", "<idle>", 0),
        ("-1234 [001] .... 1.000001:", "", 1234),
        ("  neutron-server:-1234 [001] .... 1.000001:", "neutron-server:", 1234),
        ("  stress-ng-vm-1234567 [001] .... 1.000001:", "stress-ng-vm", 1234567),
        ("bash-77 [001] .... 1.000001:", "bash", 77),  # grep'ed: task at column 0
        ("\tbash-77 [001] .... 1.000001:", "bash", 77),  # leading TAB
    ],
)
def test_comm_and_pid(parse_text, head, comm, pid):
    t = parse_text(sleep_line(head, 7))
    assert t.meta.lines["parsed"] == 1, t.meta.malformed_samples
    r = rows(t, "mm_vmscan_kswapd_sleep")[0]
    assert (r["comm"], r["pid"], r["cpu"], r["nid"]) == (comm, pid, 1, 7)


def test_trailing_whitespace_and_crlf(parse_text):
    text = (
        sleep_line("  a-1 [002] .... 1.000001:", 1).replace("\n", "   \t  \n")
        + f"  a-1 [002] .... 1.000002: mm_vmscan_lru_shrink_inactive: {INACTIVE_66}   \n"
        + f"  a-1 [002] .... 1.000003: mm_vmscan_lru_isolate: {ISOLATE_372}\n"
    ).replace("\n", "\r\n")
    t = parse_text(text)
    assert t.meta.lines == {"total": 3, "parsed": 3, "unknown_event": 0, "malformed": 0, "non_event": 0}
    si = rows(t, "mm_vmscan_lru_shrink_inactive")[0]
    assert si["flags"] == "RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"
    assert (si["is_file"], si["is_sync"]) == (False, False)
    assert rows(t, "mm_vmscan_lru_isolate")[0]["lru"] == "inactive_file"
    assert rows(t, "mm_vmscan_kswapd_sleep")[0]["nid"] == 1
    assert t.meta.unknown_labels == []


# ---------------------------------------------------------------- trace-cmd report


def test_trace_cmd_report(parse_text):
    text = (
        "version = 6\n"
        "cpus=4\n"
        "CPU 2 is empty\n"
        f"            bash-16737 [010] 426414.625682: mm_vmscan_memcg_reclaim_begin: {BEGIN_372}\n"
        f"            bash-16737 [010] 426414.658469: mm_vmscan_lru_isolate:       {ISOLATE_372}\n"
        "          <idle>-0     [001] 426414.700000: mm_vmscan_kswapd_sleep:      nid=0\n"
        "            bash-16737 [010] 426415.669056: mm_vmscan_memcg_reclaim_end:  nr_reclaimed=33\n"
    )
    t = parse_text(text)
    m = t.meta
    assert m.format == "trace-cmd"
    assert m.lines == {"total": 7, "parsed": 4, "unknown_event": 0, "malformed": 0, "non_event": 3}
    assert m.non_event["header"] == 3
    iso = rows(t, "mm_vmscan_lru_isolate")[0]
    assert iso["irq_flags"] is None
    assert (iso["nr_taken"], iso["highest_zoneidx"], iso["line"]) == (1, 2, 5)
    idle = rows(t, "mm_vmscan_kswapd_sleep")[0]
    assert (idle["comm"], idle["pid"], idle["cpu"]) == ("<idle>", 0, 1)
    assert m.cpus == [1, 10]


# ---------------------------------------------------------------- perf script


def test_perf_script_old_style(parse_text):
    text = (
        f"bash 16737 [010] 426414.625682: mm_vmscan_memcg_reclaim_begin: {BEGIN_372}\n"
        f"bash 16737 [010] 426414.658469: mm_vmscan_lru_isolate: {ISOLATE_372}\n"
        "bash 16737 [010] 426415.669056: mm_vmscan_memcg_reclaim_end: nr_reclaimed=33\n"
    )
    t = parse_text(text)
    assert t.meta.format == "perf"
    assert t.meta.lines["parsed"] == 3
    iso = rows(t, "mm_vmscan_lru_isolate")[0]
    assert (iso["comm"], iso["pid"], iso["cpu"], iso["ts_ns"]) == ("bash", 16737, 10, 426414658469000)
    assert rows(t, "mm_vmscan_memcg_reclaim_end")[0]["nr_reclaimed"] == 33


def test_perf_script_new_style_with_callchains(parse_text):
    text = (
        f"bash  16737 [010] 426414.625682:       vmscan:mm_vmscan_memcg_reclaim_begin: {BEGIN_372}\n"
        "\tffffffff8120a0b1 try_to_free_mem_cgroup_pages+0x1a1 ([kernel.kallsyms])\n"
        "\tffffffff81288a2c try_charge+0x1bc ([kernel.kallsyms])\n"
        "\n"
        f"bash  16737 [010] 426414.658469:               vmscan:mm_vmscan_lru_isolate: {ISOLATE_372}\n"
        "            ffffffff811f3c71 isolate_lru_pages+0x2b1 ([kernel.kallsyms])\n"
        "                7f3a1b2c3d4e __libc_start_main+0xf3 (/usr/lib64/libc-2.28.so)\n"
        "\n"
        "Web Content  3000/2990 [001] 426414.700001:              vmscan:mm_vmscan_kswapd_sleep: nid=1\n"
    )
    t = parse_text(text)
    m = t.meta
    assert m.format == "perf"
    assert m.lines == {"total": 9, "parsed": 3, "unknown_event": 0, "malformed": 0, "non_event": 6}
    assert m.non_event["callchain"] == 4
    assert m.non_event["blank"] == 2
    assert rows(t, "mm_vmscan_memcg_reclaim_begin")[0]["gfp_flags"] == "GFP_HIGHUSER_MOVABLE"
    assert rows(t, "mm_vmscan_lru_isolate")[0]["line"] == 5
    # perf's pid/tid: the thread is the pid column, the process the tgid
    s = rows(t, "mm_vmscan_kswapd_sleep")[0]
    assert (s["comm"], s["pid"], s["tgid"], s["cpu"], s["nid"]) == ("Web Content", 2990, 3000, 1, 1)


# ---------------------------------------------------------------- shrink_slab prose format


def test_shrink_slab_prose(parse_text):
    text = (
        "  kswapd0-96 [003] .... 100.000001: mm_shrink_slab_start: super_cache_scan+0x0/0x1a0 "
        "000000003e89d20a: nid: 0 objects to shrink 1234567890123 gfp_flags GFP_KERNEL cache items 2000 "
        "delta 100 total_scan -118 priority 12\n"
        "  kswapd0-96 [003] .... 100.000002: mm_shrink_slab_end: super_cache_scan+0x0/0x1a0 "
        "000000003e89d20a: nid: 0 unused scan count 5 new scan count 7 total_scan -3 last shrinker return val 9\n"
        "  kswapd0-96 [003] .... 100.000003: mm_shrink_slab_start: xfs_buftarg_shrink_scan+0x0/0x80 [xfs] "
        "00000000711ac9d1: nid: 1 objects to shrink 0 gfp_flags GFP_NOFS cache items 17 delta 0 total_scan 0 "
        "priority 11\n"
        "  kswapd0-96 [003] .... 100.000004: mm_shrink_slab_end: xfs_buftarg_shrink_scan+0x0/0x80 [xfs] "
        "00000000711ac9d1: nid: 1 unused scan count 0 new scan count 0 total_scan 0 last shrinker return val 0\n"
    )
    t = parse_text(text)
    assert t.meta.lines["parsed"] == 4
    assert t.meta.unknown_labels == [] and t.meta.incomplete == {}
    start = rows(t, "mm_shrink_slab_start")
    assert start[0]["shrink"] == "super_cache_scan+0x0/0x1a0"
    assert start[0]["shr"] == 0x3E89D20A
    assert start[0]["nid"] == 0
    assert start[0]["nr_objects_to_shrink"] == 1234567890123
    assert start[0]["gfp_flags"] == "GFP_KERNEL"
    assert (start[0]["cache_items"], start[0]["delta"], start[0]["total_scan"], start[0]["priority"]) == (
        2000, 100, -118, 12)
    assert start[0]["pgs_scanned"] is None
    assert start[1]["shrink"] == "xfs_buftarg_shrink_scan+0x0/0x80 [xfs]"
    assert start[1]["shr"] == 0x711AC9D1
    assert (start[1]["nid"], start[1]["cache_items"], start[1]["priority"]) == (1, 17, 11)
    assert (start[1]["gfp_fs"], start[1]["gfp_io"]) == (False, True)
    end = rows(t, "mm_shrink_slab_end")
    assert [(r["unused_scan"], r["new_scan"], r["total_scan"], r["retval"]) for r in end] == [
        (5, 7, -3, 9), (0, 0, 0, 0)]
    assert end[1]["shrink"] == "xfs_buftarg_shrink_scan+0x0/0x80 [xfs]"


def test_shrink_slab_3x_prose_without_nid(parse_text):
    text = (
        "  kswapd0-31 [000] 5.000001: mm_shrink_slab_start: prune_super+0x0 c0ee8e34: objects to shrink 10 "
        "gfp_flags GFP_KERNEL|GFP_NOWARN pgs_scanned 32 lru_pgs 1000 cache items 500 delta 16 total_scan 26\n"
    )
    r = rows(parse_text(text), "mm_shrink_slab_start")[0]
    assert (r["shrink"], r["shr"], r["nid"]) == ("prune_super+0x0", 0xC0EE8E34, None)
    assert (r["pgs_scanned"], r["lru_pgs"], r["cache_items"], r["delta"], r["total_scan"]) == (32, 1000, 500, 16, 26)


# ---------------------------------------------------------------- decoded columns


@pytest.mark.parametrize(
    ("gfp", "expected"),
    [
        ("GFP_HIGHUSER_MOVABLE", {"gfp_movable": True, "gfp_fs": True, "gfp_io": True, "gfp_highmem": True,
                                  "gfp_direct_reclaim": True, "gfp_kswapd_reclaim": True}),
        ("GFP_NOFS", {"gfp_fs": False, "gfp_io": True, "gfp_movable": False, "gfp_direct_reclaim": True}),
        ("GFP_NOIO", {"gfp_fs": False, "gfp_io": False, "gfp_direct_reclaim": True}),
        ("GFP_KERNEL_ACCOUNT|__GFP_NOFAIL", {"gfp_account": True, "gfp_nofail": True, "gfp_fs": True}),
        ("GFP_NOWAIT|__GFP_NOWARN", {"gfp_direct_reclaim": False, "gfp_kswapd_reclaim": True}),
        ("none", {"gfp_fs": False, "gfp_io": False, "gfp_movable": False, "gfp_direct_reclaim": False,
                  "gfp_kswapd_reclaim": False}),
        # 2.6/3.x renderings: singles without "__", and the 3.1-3.2 missing separator
        ("GFP_KERNEL|GFP_NOWARN|0x2", {"gfp_fs": True, "gfp_io": True}),
        ("GFP_KERNELGFP_NOTRACK", {"gfp_fs": True, "gfp_io": True, "gfp_movable": False}),
        ("GFP_WAIT|GFP_IO", {"gfp_direct_reclaim": True, "gfp_kswapd_reclaim": True, "gfp_io": True,
                             "gfp_fs": False}),
    ],
)
def test_gfp_flags_decoding(parse_text, gfp, expected):
    t = parse_text(f"  a-1 [000] .... 1.000001: mm_vmscan_direct_reclaim_begin: order=0 gfp_flags={gfp}\n")
    r = rows(t, "mm_vmscan_direct_reclaim_begin")[0]
    assert r["gfp_flags"] == gfp
    assert {k: r[k] for k in expected} == expected


def test_wakeup_kswapd_gfp_none(parse_text):
    r = rows(parse_text("  a-1 [000] .... 1.000001: mm_vmscan_wakeup_kswapd: nid=0 order=3 gfp_flags=none\n"),
             "mm_vmscan_wakeup_kswapd")[0]
    assert (r["nid"], r["order"], r["zid"], r["gfp_flags"], r["gfp_fs"]) == (0, 3, None, "none", False)


@pytest.mark.parametrize(
    ("flags", "is_file", "is_sync"),
    [
        ("RECLAIM_WB_FILE|RECLAIM_WB_ASYNC", True, False),
        ("RECLAIM_WB_ANON|RECLAIM_WB_ASYNC", False, False),
        ("RECLAIM_WB_ANON|RECLAIM_WB_SYNC", False, True),
        ("RECLAIM_WB_MIXED|RECLAIM_WB_SYNC", None, True),
        ("RECLAIM_WB_NONE", None, None),
    ],
)
def test_reclaim_flags(parse_text, flags, is_file, is_sync):
    line = ("  a-1 [000] .... 1.000001: mm_vmscan_lru_shrink_active: nid=0 nr_taken=1 nr_active=0 "
            f"nr_deactivated=1 nr_referenced=1 priority=10 flags={flags}\n")
    r = rows(parse_text(line), "mm_vmscan_lru_shrink_active")[0]
    assert (r["flags"], r["is_file"], r["is_sync"]) == (flags, is_file, is_sync)


@pytest.mark.parametrize(
    ("lru", "is_file", "is_active"),
    [
        ("inactive_file", True, False),
        ("active_file", True, True),
        ("inactive_anon", False, False),
        ("active_anon", False, True),
        ("unevictable", None, None),
    ],
)
def test_lru_names(parse_text, lru, is_file, is_active):
    line = ("  a-1 [000] .... 1.000001: mm_vmscan_lru_isolate: isolate_mode=0 classzone=3 order=0 "
            f"nr_requested=32 nr_scanned=32 nr_skipped=0 nr_taken=32 lru={lru}\n")
    r = rows(parse_text(line), "mm_vmscan_lru_isolate")[0]
    assert (r["lru"], r["is_file"], r["is_active"], r["highest_zoneidx"], r["file"]) == (
        lru, is_file, is_active, 3, None)


def test_isolate_6_7_without_isolate_mode(parse_text):
    line = ("  a-1 [000] .... 1.000001: mm_vmscan_lru_isolate: classzone=1 order=0 nr_requested=32 "
            "nr_scanned=40 nr_skipped=8 nr_taken=32 lru=active_anon\n")
    t = parse_text(line)
    r = rows(t, "mm_vmscan_lru_isolate")[0]
    assert (r["isolate_mode"], r["highest_zoneidx"], r["nr_skipped"], r["is_active"]) == (None, 1, 8, True)
    assert t.meta.kernel["range"] == ">= 6.7"


# ---------------------------------------------------------------- old formats


def test_old_formats_and_zone_index_normalization(parse_text):
    text = (
        # 2.6.36-4.7 shrink_inactive with zid
        "  kswapd0-31 [000] 500.100000: mm_vmscan_lru_shrink_inactive: nid=0 zid=1 nr_scanned=32 "
        "nr_reclaimed=30 priority=12 flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC\n"
        # 3.5-4.7 isolate with file=
        "  kswapd0-31 [000] 500.200000: mm_vmscan_lru_isolate: isolate_mode=1 order=0 nr_requested=32 "
        "nr_scanned=32 nr_taken=32 file=1\n"
        "  kswapd0-31 [000] 500.300000: mm_vmscan_lru_isolate: isolate_mode=2 order=0 nr_requested=32 "
        "nr_scanned=32 nr_taken=31 file=0\n"
        # 2.6.36-3.2 isolate with the lumpy reclaim counters
        "  kswapd0-31 [000] 500.400000: mm_vmscan_lru_isolate: isolate_mode=1 order=0 nr_requested=32 "
        "nr_scanned=32 nr_taken=32 contig_taken=4 contig_dirty=1 contig_failed=2\n"
        # 4.8-4.10 isolate: classzone= and file=
        "  dd-100 [001] 500.500000: mm_vmscan_lru_isolate: isolate_mode=0 classzone=1 order=0 nr_requested=32 "
        "nr_scanned=32 nr_taken=32 file=1\n"
        # 3.x begin: may_writepage only; 4.8-5.1: classzone_idx; highest_zoneidx as a label too
        "  dd-100 [001] 500.600000: mm_vmscan_direct_reclaim_begin: order=0 may_writepage=1 gfp_flags=GFP_KERNEL\n"
        "  dd-100 [001] 500.700000: mm_vmscan_direct_reclaim_begin: order=2 may_writepage=1 "
        "gfp_flags=GFP_HIGHUSER_MOVABLE classzone_idx=3\n"
        "  dd-100 [001] 500.800000: mm_vmscan_direct_reclaim_begin: order=0 gfp_flags=GFP_KERNEL highest_zoneidx=2\n"
    )
    t = parse_text(text)
    assert t.meta.lines["parsed"] == 8 and t.meta.incomplete == {} and t.meta.unknown_labels == []
    si = rows(t, "mm_vmscan_lru_shrink_inactive")[0]
    assert (si["nid"], si["zid"], si["nr_scanned"], si["nr_reclaimed"], si["priority"]) == (0, 1, 32, 30, 12)
    assert si["nr_dirty"] is None and si["nr_activate"] is None
    iso = rows(t, "mm_vmscan_lru_isolate")
    assert [r["file"] for r in iso] == [1, 0, None, 1]
    assert [r["is_file"] for r in iso] == [True, False, None, True]
    assert [r["is_active"] for r in iso] == [None, None, None, None]
    assert [r["lru"] for r in iso] == [None] * 4
    assert [r["isolate_mode"] for r in iso] == [1, 2, 1, 0]
    assert (iso[2]["contig_taken"], iso[2]["contig_dirty"], iso[2]["contig_failed"]) == (4, 1, 2)
    assert [r["highest_zoneidx"] for r in iso] == [None, None, None, 1]
    begin = rows(t, "mm_vmscan_direct_reclaim_begin")
    assert [r["may_writepage"] for r in begin] == [1, 1, None]
    assert [r["highest_zoneidx"] for r in begin] == [None, 3, 2]
    assert [r["order"] for r in begin] == [0, 2, 0]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # a consistent 2.6.36-era trace
        (["  k-1 [000] 1.000001: mm_vmscan_lru_shrink_inactive: nid=0 zid=1 nr_scanned=32 nr_reclaimed=30 "
          "priority=12 flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC",
          "  k-1 [000] 1.000002: mm_vmscan_direct_reclaim_begin: order=0 may_writepage=1 gfp_flags=GFP_KERNEL"],
         "2.6.36 - 4.7"),
        # 4.8-4.10: shrink_inactive without zid nor the 4.11 counters
        (["  k-1 [000] 1.000001: mm_vmscan_lru_shrink_inactive: nid=0 nr_scanned=32 nr_reclaimed=30 "
          "priority=12 flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC",
          "  k-1 [000] 1.000002: mm_vmscan_lru_isolate: isolate_mode=0 classzone=1 order=0 nr_requested=32 "
          "nr_scanned=32 nr_taken=32 file=1"],
         "4.8 - 4.10"),
    ],
)
def test_kernel_inference_of_old_formats(parse_text, lines, expected):
    t = parse_text("\n".join(lines) + "\n")
    assert t.meta.kernel["range"] == expected


# ---------------------------------------------------------------- around-reclaim events


def test_write_folio_lands_in_writepage_with_hex_pfn(parse_text):
    text = (
        "  dd-100 [001] .... 500.600000: mm_vmscan_writepage: page=f5d0b720 pfn=12345 "
        "flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC\n"
        "  dd-100 [001] .... 500.700000: mm_vmscan_write_folio: page=00000000abcdef12 pfn=0x1a2b3c "
        "flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC\n"
    )
    t = parse_text(text)
    assert "mm_vmscan_write_folio" not in t
    wp = rows(t, "mm_vmscan_writepage")
    assert [(r["page"], r["pfn"]) for r in wp] == [(0xF5D0B720, 12345), (0xABCDEF12, 0x1A2B3C)]
    assert wp[1]["pfn"] == 1715004
    assert [(r["is_file"], r["is_sync"]) for r in wp] == [(True, False), (False, False)]
    # the alias reads the same table
    assert t["mm_vmscan_write_folio"].num_rows == 2


@pytest.mark.parametrize("page", ["page=(null)", "page= (null)"])
def test_null_page(parse_text, page):
    line = f"  dd-100 [001] .... 500.8: mm_page_alloc: {page} pfn=0 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n"
    t = parse_text(line)
    r = rows(t, "mm_page_alloc")[0]
    assert r["page"] is None
    assert (r["pfn"], r["order"], r["migratetype"], r["gfp_movable"]) == (0, 0, 1, True)
    assert t.meta.unknown_labels == [] and t.meta.malformed_samples == []


def test_oom_score_adj_update(parse_text):
    line = "  systemd-1 [000] .... 10.000001: oom_score_adj_update: pid=4242 comm=Web Content oom_score_adj=-1000\n"
    r = rows(parse_text(line), "oom_score_adj_update")[0]
    assert (r["pid"], r["comm"]) == (1, "systemd")  # the header's task
    assert (r["target_pid"], r["target_comm"], r["oom_score_adj"]) == (4242, "Web Content", -1000)


def test_writeback_dirty_page_and_folio(parse_text):
    text = (
        "  systemd-1 [000] .... 10.000002: writeback_dirty_page: bdi 8:0: ino=12 index=3\n"
        "  systemd-1 [000] .... 10.000003: writeback_dirty_folio: bdi 253:1: ino=99 index=0\n"
    )
    t = parse_text(text)
    assert [(r["bdi"], r["ino"], r["index"]) for r in rows(t, "writeback_dirty_page")] == [
        ("8:0", 12, 3), ("253:1", 99, 0)]


def test_compaction_begin_with_comma(parse_text):
    text = (
        "  kcompactd0-50 [000] .... 10.000004: mm_compaction_begin: zone_start=0x1000 migrate_pfn=0x1200 "
        "free_pfn=0x7fe00 zone_end=0x80000, mode=async\n"
        "  kcompactd0-50 [000] .... 10.000005: mm_compaction_end: zone_start=0x1000 migrate_pfn=0x1200 "
        "free_pfn=0x7fe00 zone_end=0x80000, mode=sync status=complete\n"
    )
    t = parse_text(text)
    b = rows(t, "mm_compaction_begin")[0]
    assert (b["zone_start"], b["migrate_pfn"], b["free_pfn"], b["zone_end"], b["mode"]) == (
        0x1000, 0x1200, 0x7FE00, 0x80000, "async")
    e = rows(t, "mm_compaction_end")[0]
    assert (e["zone_end"], e["mode"], e["status"]) == (0x80000, "sync", "complete")


def test_mark_victim_short_and_long_form(parse_text):
    text = (
        "  oom_reaper-60 [000] .... 10.000005: mark_victim: pid=1 comm=foo total-vm=1000kB anon-rss=10kB "
        "file-rss:0kB shmem-rss:0kB uid=0 pgtables=4kB oom_score_adj=0\n"
        "  oom_reaper-60 [000] .... 10.000006: mark_victim: pid=77\n"
    )
    t = parse_text(text)
    long_, short = rows(t, "mark_victim")
    assert (long_["victim_pid"], long_["victim_comm"], long_["total_vm_kb"], long_["anon_rss_kb"],
            long_["file_rss_kb"], long_["shmem_rss_kb"], long_["uid"], long_["pgtables_kb"],
            long_["oom_score_adj"]) == (1, "foo", 1000, 10, 0, 0, 0, 4, 0)
    assert short["victim_pid"] == 77 and short["victim_comm"] is None
    assert t.meta.incomplete == {} and t.meta.unknown_labels == []


def test_throttled_typo_label(parse_text):
    line = ("  a-1 [002] .... 10.0: mm_vmscan_throttled: nid=0 usec_timeout=100000 usect_delayed=4000 "
            "reason=VMSCAN_THROTTLE_WRITEBACK\n")
    r = rows(parse_text(line), "mm_vmscan_throttled")[0]
    assert (r["usec_timeout"], r["usec_delayed"], r["reason"]) == (100000, 4000, "VMSCAN_THROTTLE_WRITEBACK")


# ---------------------------------------------------------------- events and labels the registry does not know


def test_unknown_event_kept_in_other_events(parse_text):
    payload = ("prev_comm=bash prev_pid=5 prev_prio=120 prev_state=S ==> next_comm=swapper/2 next_pid=0 "
               "next_prio=120")
    t = parse_text(f"  bash-5 [002] d... 10.000007: sched_switch: {payload}\n"
                   "  bash-5 [002] d... 10.000008: sched:sched_wakeup: comm=a pid=9 prio=120 target_cpu=002\n")
    assert t.meta.lines == {"total": 2, "parsed": 0, "unknown_event": 2, "malformed": 0, "non_event": 0}
    other = rows(t, "other_events")
    assert [(r["event"], r["line"]) for r in other] == [("sched_switch", 1), ("sched_wakeup", 2)]
    assert other[0]["payload"] == payload
    assert (other[0]["comm"], other[0]["pid"], other[0]["cpu"], other[0]["irq_flags"]) == ("bash", 5, 2, "d...")
    assert other[0]["ts_ns"] == 10000007000


def test_function_tracer_line(parse_text):
    t = parse_text("  bash-5 [002] .... 10.000008: shrink_node <-do_try_to_free_pages\n")
    assert t.meta.lines["unknown_event"] == 1
    r = rows(t, "other_events")[0]
    assert (r["event"], r["payload"]) == ("function", "shrink_node <-do_try_to_free_pages")


def test_unknown_label_is_reported_and_row_kept(parse_text):
    text = (
        "  bash-5 [002] .... 10.000009: mm_vmscan_kswapd_sleep: nid=0 nr_foo=3\n"
        "  bash-5 [002] .... 10.000010: mm_vmscan_memcg_reclaim_end: nr_foo=7 nr_reclaimed=33\n"
    )
    t = parse_text(text)
    assert t.meta.lines["parsed"] == 2 and t.meta.lines["malformed"] == 0
    assert rows(t, "mm_vmscan_kswapd_sleep")[0]["nid"] == 0
    assert rows(t, "mm_vmscan_memcg_reclaim_end")[0]["nr_reclaimed"] == 33
    assert sorted((u["event"], u["label"], u["count"]) for u in t.meta.unknown_labels) == [
        ("mm_vmscan_kswapd_sleep", "nr_foo", 1), ("mm_vmscan_memcg_reclaim_end", "nr_foo", 1)]
    assert any("nr_foo" in w for w in t.meta.warnings)


def test_unknown_label_that_looks_like_the_expected_one(parse_text):
    t = parse_text("  k-1 [000] .... 1.000001: mm_vmscan_kswapd_wake: nid=0 older=3\n")
    r = rows(t, "mm_vmscan_kswapd_wake")[0]
    assert r["order"] is None
    assert [(u["event"], u["label"]) for u in t.meta.unknown_labels] == [("mm_vmscan_kswapd_wake", "older")]


def test_missing_fields_kept_with_nulls_and_reported(parse_text):
    t = parse_text("  k-1 [000] .... 1.000001: mm_vmscan_kswapd_wake: nid=0\n"
                   "  k-1 [000] .... 1.000002: mm_vmscan_kswapd_sleep: nid=0\n")
    assert t.meta.lines["parsed"] == 2
    assert t.meta.incomplete == {"mm_vmscan_kswapd_wake": 1}
    r = rows(t, "mm_vmscan_kswapd_wake")[0]
    assert (r["nid"], r["order"]) == (0, None)


def test_events_filter_on_read(parse_text):
    text = (
        "  a-1 [000] .... 1.000001: mm_vmscan_kswapd_sleep: nid=0\n"
        "  a-1 [000] .... 1.000002: mm_page_alloc: page=(null) pfn=0 order=0 migratetype=1 gfp_flags=none\n"
        "  a-1 [000] .... 1.000003: sched_switch: prev_comm=a\n"
    )
    t = parse_text(text, events=["kmem", "other"])
    assert sorted(t) == ["mm_page_alloc", "other_events"]
    assert t.meta.lines == {"total": 3, "parsed": 2, "unknown_event": 1, "malformed": 0, "non_event": 0}
    # rows counts all events, kept or not
    assert t.meta.rows == {"mm_page_alloc": 1, "mm_vmscan_kswapd_sleep": 1, "other_events": 1}
    t2 = parse_text(text, events=["mm_vmscan_write_folio", "vmscan:mm_vmscan_kswapd_sleep"])
    assert sorted(t2) == ["mm_vmscan_kswapd_sleep"]
