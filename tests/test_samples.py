"""Facts of the shipped samples (traces/), each checkable by hand with grep, cut and bc.

How the known answers were obtained (run in traces/):

* ``grep -c 'mm_vmscan_lru_isolate:' kernel-372.log`` -> 17, ``... lru_shrink_inactive:`` -> 17;
  kernel-147.log: isolate 37 (28 ``lru=inactive_file``, 9 ``lru=active_file``), shrink_inactive 28,
  shrink_active 9, inactive_list_is_low 16.
* ``grep -o 'shrink_inactive.*nr_reclaimed=[0-9]*' F | grep -o 'nr_reclaimed=[0-9]*' | cut -d= -f2 |
  paste -sd+ | bc`` -> 33 for 372 (= the memcg end's nr_reclaimed=33), 32 for 147 (= its end's 32).
* priorities of shrink_inactive (``grep -o 'priority=[0-9]*' | sort | uniq -c``):
  372: 12 x1, 11 x1, 10 x2, 9 x5, 8 x8; 147: 12 x1, 11 x1, 10 x6, 9 x12, 8 x8.
* kernel-372.stap: 40 ``shrink_node BEG`` and 40 ``shrink_node_delta`` lines; the 40
  shrink_slab_delta values of the shrink_node lines sum to 632414632, exactly the END line's
  shrink_slab_delta; their shrink_node_delta sum to 857010913, 644570 ns less than the END's
  try_to_free_delta=857655483.  kernel-147.stap: 16 pairs, slab sum 30230197 = END's total, node
  sum 212383771 < try_to_free_delta 217154959.
"""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.compute as pc
import pytest
from conftest import LOG_147, LOG_372, SAMPLES, STAP_147, STAP_372, accounting_holds, rows, run_cli

import reclaimctl


@pytest.fixture(scope="module")
def t372():
    return reclaimctl.read(str(LOG_372))


@pytest.fixture(scope="module")
def t147():
    return reclaimctl.read(str(LOG_147))


@pytest.fixture(scope="module")
def s372():
    return reclaimctl.read(str(STAP_372))


@pytest.fixture(scope="module")
def s147():
    return reclaimctl.read(str(STAP_147))


# ---------------------------------------------------------------- the memcg reclaim episode


def test_372_episode_begin_and_end(t372):
    begin = rows(t372, "mm_vmscan_memcg_reclaim_begin")
    end = rows(t372, "mm_vmscan_memcg_reclaim_end")
    assert len(begin) == 1 and len(end) == 1
    assert begin[0]["ts_ns"] == 426414625682000
    assert end[0]["ts_ns"] == 426415669056000
    assert end[0]["nr_reclaimed"] == 33
    assert begin[0]["line"] == 1 and end[0]["line"] == 36
    assert begin[0]["comm"] == "bash" and begin[0]["pid"] == 16737 and begin[0]["cpu"] == 10
    assert begin[0]["gfp_flags"] == "GFP_HIGHUSER_MOVABLE"
    assert begin[0]["order"] == 0
    # the 5.2+ begin prints no may_writepage / classzone_idx
    assert begin[0]["may_writepage"] is None and begin[0]["highest_zoneidx"] is None
    assert t372.meta.first_ns == 426414625682000
    assert t372.meta.last_ns == 426415669056000


def test_147_episode_begin_and_end(t147):
    begin = rows(t147, "mm_vmscan_memcg_reclaim_begin")
    end = rows(t147, "mm_vmscan_memcg_reclaim_end")
    assert [r["ts_ns"] for r in begin] == [519278538285000]
    assert [r["ts_ns"] for r in end] == [519278616689000]
    assert end[0]["nr_reclaimed"] == 32
    # 4.11-5.1 begin: may_writepage=1 ... classzone_idx=2
    assert begin[0]["may_writepage"] == 1
    assert begin[0]["highest_zoneidx"] == 2
    assert begin[0]["comm"] == "httpd" and begin[0]["pid"] == 11244
    assert t147.meta.first_ns == 519278538285000
    assert t147.meta.last_ns == 519278616689000


@pytest.mark.parametrize("fixture", ["t372", "t147"])
def test_priorities_12_down_to_8(fixture, request):
    t = request.getfixturevalue(fixture)
    prio = t["mm_vmscan_lru_shrink_inactive"]["priority"].to_pylist()
    assert set(prio) == {12, 11, 10, 9, 8}
    # the priority never rises within the episode
    assert prio == sorted(prio, reverse=True)


def test_priority_histograms(t372, t147):
    assert Counter(t372["mm_vmscan_lru_shrink_inactive"]["priority"].to_pylist()) == {
        12: 1, 11: 1, 10: 2, 9: 5, 8: 8}
    assert Counter(t147["mm_vmscan_lru_shrink_inactive"]["priority"].to_pylist()) == {
        12: 1, 11: 1, 10: 6, 9: 12, 8: 8}


def test_372_shrink_inactive_reclaim_adds_up_to_end(t372):
    total = pc.sum(t372["mm_vmscan_lru_shrink_inactive"]["nr_reclaimed"]).as_py()
    assert total == 33
    assert total == t372["mm_vmscan_memcg_reclaim_end"]["nr_reclaimed"][0].as_py()


def test_147_shrink_inactive_reclaim_adds_up_to_end(t147):
    total = pc.sum(t147["mm_vmscan_lru_shrink_inactive"]["nr_reclaimed"]).as_py()
    assert total == 32 == t147["mm_vmscan_memcg_reclaim_end"]["nr_reclaimed"][0].as_py()


def test_372_isolated_equals_scanned(t372):
    # every isolate is followed by a shrink_inactive of the pages it took: 40 pages in all
    assert pc.sum(t372["mm_vmscan_lru_isolate"]["nr_taken"]).as_py() == 40
    assert pc.sum(t372["mm_vmscan_lru_shrink_inactive"]["nr_scanned"]).as_py() == 40


def test_372_counts(t372):
    assert t372.meta.rows == {
        "mm_vmscan_lru_isolate": 17,
        "mm_vmscan_lru_shrink_inactive": 17,
        "mm_vmscan_memcg_reclaim_begin": 1,
        "mm_vmscan_memcg_reclaim_end": 1,
    }
    assert t372["mm_vmscan_lru_isolate"].num_rows == 17
    assert t372["mm_vmscan_lru_shrink_inactive"].num_rows == 17
    assert t372.meta.lines == {"total": 36, "parsed": 36, "unknown_event": 0, "malformed": 0, "non_event": 0}
    assert "other_events" not in t372


def test_147_counts(t147):
    assert t147.meta.rows == {
        "mm_vmscan_inactive_list_is_low": 16,
        "mm_vmscan_lru_isolate": 37,
        "mm_vmscan_lru_shrink_active": 9,
        "mm_vmscan_lru_shrink_inactive": 28,
        "mm_vmscan_memcg_reclaim_begin": 1,
        "mm_vmscan_memcg_reclaim_end": 1,
    }
    assert t147.meta.lines == {"total": 92, "parsed": 92, "unknown_event": 0, "malformed": 0, "non_event": 0}
    iso = t147["mm_vmscan_lru_isolate"]
    assert Counter(iso["lru"].to_pylist()) == {"inactive_file": 28, "active_file": 9}
    assert Counter(iso["is_active"].to_pylist()) == {False: 28, True: 9}
    assert set(iso["is_file"].to_pylist()) == {True}


def test_line_numbers_are_file_lines(t372, t147):
    lines_372 = sorted(
        n for name in t372 for n in t372[name]["line"].to_pylist()
    )
    assert lines_372 == list(range(1, 37))
    lines_147 = sorted(n for name in t147 for n in t147[name]["line"].to_pylist())
    assert lines_147 == list(range(1, 93))


def test_147_nr_activate_split_from_flags(t147):
    """4.11-5.1 print one nr_activate; on FILE lines it is credited to nr_activate_file."""
    si = rows(t147, "mm_vmscan_lru_shrink_inactive")
    assert all(r["is_file"] is True and r["is_sync"] is False for r in si)
    for r in si:
        assert r["nr_activate_file"] == r["nr_activate"]
        assert r["nr_activate_anon"] == 0
    # grep -o 'nr_activate=[0-9]*' | sort | uniq -c: 25 x0, 3 x1
    assert Counter(r["nr_activate"] for r in si) == {0: 25, 1: 3}


def test_372_nr_activate_total_is_the_sum_of_the_split(t372):
    si = rows(t372, "mm_vmscan_lru_shrink_inactive")
    for r in si:
        assert r["nr_activate"] == r["nr_activate_anon"] + r["nr_activate_file"]
    assert sum(r["nr_activate_file"] for r in si) == 5  # 1 + 1 + 3
    assert {r["nr_activate_anon"] for r in si} == {0}


def test_147_one_line_on_node_1(t147):
    si = rows(t147, "mm_vmscan_lru_shrink_inactive")
    on_node1 = [r for r in si if r["nid"] == 1]
    assert [r["ts_ns"] for r in on_node1] == [519278611169000]


def test_147_shrink_active_and_list_is_low(t147):
    sa = rows(t147, "mm_vmscan_lru_shrink_active")
    assert sum(r["nr_deactivated"] for r in sa) == 21
    assert all(r["nr_active"] == 0 for r in sa)
    low = rows(t147, "mm_vmscan_inactive_list_is_low")
    # flags are masked to the LRU type: no SYNC/ASYNC bit
    assert {r["flags"] for r in low} == {"RECLAIM_WB_FILE"}
    assert {r["is_file"] for r in low} == {True}
    assert {r["is_sync"] for r in low} == {None}
    assert low[0]["total_inactive"] == 1397 and low[0]["total_active"] == 1398


def test_irq_flags_and_tasks(t372, t147):
    assert Counter(t372["mm_vmscan_lru_isolate"]["irq_flags"].to_pylist()) == {"dN..": 6, "d...": 11}
    assert t372.meta.top_tasks == [{"comm": "bash", "pid": 16737, "events": 36}]
    assert t147.meta.top_tasks == [{"comm": "httpd", "pid": 11244, "events": 92}]
    assert t372.meta.cpus == [10] and t147.meta.cpus == [10]
    # ftrace without record-tgid: no tgid
    assert t372["mm_vmscan_lru_isolate"]["tgid"].null_count == 17


# ---------------------------------------------------------------- systemtap samples


def test_372_stap_episode(s372):
    assert s372.meta.format == "stap"
    end = rows(s372, "stap_try_to_free_pages_end")
    assert len(end) == 1
    assert end[0]["try_to_free_delta"] == 857655483
    assert end[0]["shrink_slab_delta"] == 632414632
    assert end[0]["line"] == 82
    assert s372["stap_try_to_free_pages_begin"].num_rows == 1
    assert s372["stap_shrink_node_begin"].num_rows == 40
    assert s372["stap_shrink_node_end"].num_rows == 40
    assert s372.meta.lines == {"total": 82, "parsed": 82, "unknown_event": 0, "malformed": 0, "non_event": 0}


def test_372_stap_shrink_node_pairs_alternate(s372):
    begins = s372["stap_shrink_node_begin"]["line"].to_pylist()
    ends = s372["stap_shrink_node_end"]["line"].to_pylist()
    assert begins == list(range(2, 81, 2))
    assert ends == list(range(3, 82, 2))


def test_372_stap_slab_time_adds_up(s372):
    ends = s372["stap_shrink_node_end"]
    slab = pc.sum(ends["shrink_slab_delta"]).as_py()
    node = pc.sum(ends["shrink_node_delta"]).as_py()
    total = s372["stap_try_to_free_pages_end"]
    # the 40 per-node slab times sum exactly to the END line's total
    assert slab == 632414632 == total["shrink_slab_delta"][0].as_py()
    # shrink_node time is less than the whole do_try_to_free_pages time (644570 ns outside it)
    assert node == 857010913
    assert total["try_to_free_delta"][0].as_py() - node == 644570


def test_372_stap_priorities_and_progress(s372):
    b = rows(s372, "stap_shrink_node_begin")
    assert Counter(r["priority"] for r in b) == {12: 8, 11: 8, 10: 8, 9: 8, 8: 8}
    assert b[0] == {**b[0], "priority": 12, "nr_scanned": 0, "nr_reclaimed": 0}
    assert b[-1]["priority"] == 8 and b[-1]["nr_scanned"] == 39 and b[-1]["nr_reclaimed"] == 63
    # stap lines carry a CPU and a comm but no timestamp
    assert {r["cpu"] for r in b} == {13}
    assert {r["comm"] for r in b} == {"postgres"}
    assert {r["ts_ns"] for r in b} == {None}


def test_147_stap_episode(s147):
    end = rows(s147, "stap_try_to_free_pages_end")
    assert [(r["try_to_free_delta"], r["shrink_slab_delta"]) for r in end] == [(217154959, 30230197)]
    ends = s147["stap_shrink_node_end"]
    assert ends.num_rows == 16 == s147["stap_shrink_node_begin"].num_rows
    assert pc.sum(ends["shrink_slab_delta"]).as_py() == 30230197
    assert pc.sum(ends["shrink_node_delta"]).as_py() == 212383771
    b = rows(s147, "stap_shrink_node_begin")
    assert {r["priority"] for r in b} == {12, 11}
    # a comm that ends in ':' (a truncated "neutron-server: ...")
    assert {r["comm"] for r in b} == {"neutron-server:"}
    assert {r["cpu"] for r in b} == {12}


# ---------------------------------------------------------------- kernel inference, accounting


def test_kernel_inference_372(t372):
    k = t372.meta.kernel
    assert k["range"] == "5.2 - 6.6"
    # the memcg begin without may_writepage also fits RHEL 8's 4.18 with 5.x backports
    assert any("RHEL 8" in n for n in k["notes"])
    assert k["unmatched"] == []


def test_kernel_inference_147(t147):
    k = t147.meta.kernel
    assert k["range"] == "4.11 - 5.1"
    assert k["unmatched"] == []


def test_stap_alone_says_nothing_about_the_kernel(s372):
    assert s372.meta.kernel["range"] == "unknown"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_accounting_of_every_sample(path):
    t = reclaimctl.read(str(path))
    assert accounting_holds(t.meta)
    total = len(path.read_bytes().splitlines())
    assert t.meta.lines["total"] == total
    assert t.meta.lines["malformed"] == 0
    assert t.meta.warnings == []
    assert sum(t.meta.rows.values()) == t.meta.lines["parsed"]


def test_formats_are_sniffed(t372, s372):
    assert t372.meta.format == "ftrace"
    assert s372.meta.format == "stap"


def test_sample_name_on_the_cli_reads_log_and_stap():
    proc = run_cli("parse", "kernel-372", "--json")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert meta["lines"] == {"total": 118, "parsed": 118, "unknown_event": 0, "malformed": 0, "non_event": 0}
    assert meta["rows"]["stap_shrink_node_end"] == 40
    assert meta["rows"]["mm_vmscan_lru_isolate"] == 17
    assert meta["kernel"]["range"] == "5.2 - 6.6"
    assert meta["source"].endswith("kernel-372.log + " + str(STAP_372))
