"""A trace's allocation stream as a workload (replay TRACE with kmem/filemap/writeback events).

The hand-written trace below holds every case: page-cache adds (file reads), anonymous allocations
of order 0 and 1, a kernel allocation (not replayed), a munmap free, a free by kswapd (the recorded
reclaim: not replayed), a dirtying write and a truncation.  The expected operations are worked out
by hand in the comments.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import reclaimctl
from reclaimctl.cli.main import cli
from reclaimctl.cli.replay_cmd import plan, simulate
from reclaimctl.engine.state import (
    OP_ANON_FAULT,
    OP_ANON_FREE,
    OP_FILE_DELETE,
    OP_FILE_READ,
    OP_FILE_WRITE,
)
from reclaimctl.workload.alloc_stream import trace_stream

TRACE = """\
# tracer: nop
#
            cat-100   [000] ....    10.000001: mm_page_alloc: page=0xffffea0000040000 pfn=4096 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
            cat-100   [000] ....    10.000002: mm_filemap_add_to_page_cache: dev 253:0 ino 1a page=0xffffea0000040000 pfn=4096 ofs=0
            cat-100   [000] ....    10.000003: mm_page_alloc: page=0xffffea0000040040 pfn=4097 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
            cat-100   [000] ....    10.000004: mm_filemap_add_to_page_cache: dev 253:0 ino 1a page=0xffffea0000040040 pfn=4097 ofs=4096
           java-200   [001] ....    10.000010: mm_page_alloc: page=0xffffea000004e200 pfn=5000 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
           java-200   [001] ....    10.000011: mm_page_alloc: page=0xffffea000004e240 pfn=5001 order=1 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
           java-200   [001] ....    10.000012: mm_page_alloc: page=0xffffea000005dc00 pfn=6000 order=0 migratetype=0 gfp_flags=GFP_KERNEL
           java-200   [001] ....    10.000020: mm_page_free: page=0xffffea000004e200 pfn=5000 order=0
        kswapd0-90    [000] ....    10.000030: mm_page_free: page=0xffffea000004e240 pfn=5001 order=1
             vi-300   [001] ....    10.000040: writeback_dirty_page: bdi 253:0: ino=26 index=1
             rm-400   [000] ....    10.000050: mm_filemap_delete_from_page_cache: dev 253:0 ino 1a page=0xffffea0000040000 pfn=4096 ofs=0
"""


@pytest.fixture
def trace(tmp_path):
    f = tmp_path / "alloc.log"
    f.write_text(TRACE)
    return f


def test_the_stream_is_what_the_tasks_did(trace):
    s = trace_stream(reclaimctl.read(str(trace)))
    ops = s.ops
    assert [(int(r.ts_ns), int(r.op), int(r.obj), int(r["count"])) for _, r in ops.iterrows()] == [
        (10_000_002_000, OP_FILE_READ, 0, 1),  # (253:0, ino 0x1a, ofs 0) is file page 0, at the add
        (10_000_004_000, OP_FILE_READ, 1, 1),  # ofs 4096: file page 1
        (10_000_010_000, OP_ANON_FAULT, 0, 1),  # java's anon ids 0
        (10_000_011_000, OP_ANON_FAULT, 1, 2),  # ... and 1-2 (order 1)
        (10_000_020_000, OP_ANON_FREE, 0, 1),  # munmap of pfn 5000 = java's id 0
        (10_000_040_000, OP_FILE_WRITE, 1, 1),  # ino 26 = 0x1a, index 1 = ofs 4096: file page 1
        (10_000_050_000, OP_FILE_DELETE, 0, 1),  # truncation by rm
    ]
    assert s.tasks == [(100, "cat", 0), (200, "java", 3), (300, "vi", 0), (400, "rm", 0)]
    assert s.file_pages == 2
    st = s.stats
    assert (st.kernel_allocs, st.reclaim_frees_skipped, st.anon_frees) == (1, 1, 1)  # GFP_KERNEL; kswapd0's free
    assert st.max_pfn_span == 5001 - 4096 + 1 + 0  # user pages only: 4096 .. 5001


def test_the_stream_replays_on_a_machine_sized_from_the_trace(trace):
    p = plan(str(trace), "kernel-372", None, (), None)
    sim, _ = simulate(p)
    assert "allocation stream" in p.label and "1 kernel allocations" in p.label
    assert sim.machine.nodes == 1 and sim.machine.cpus_per_node == 2  # CPUs 0 and 1 seen
    vm = sim.vmstat()
    # pages left: file page 1 (dirtied), anon ids 1-2; file page 0 truncated, anon id 0 freed
    z = sim.zones()
    assert int((z.managed - z.free).sum()) == 3
    assert vm["pgalloc"] == 5 and vm["pgfree"] == 2
    assert vm["nr_dirtied"] == 1
    sim.check()


def test_a_trace_of_kernel_allocations_only_has_no_workload(tmp_path):
    f = tmp_path / "k.log"
    f.write_text("  java-200 [001] .... 10.000012: mm_page_alloc: page=0xffffea000005dc00 pfn=6000 order=0 "
                 "migratetype=0 gfp_flags=GFP_KERNEL\n")
    r = CliRunner().invoke(cli, ["replay", str(f), "--no-store"])
    assert r.exit_code == 1
    assert "1 kernel allocations and no user page allocation" in r.output + str(r.exception)
