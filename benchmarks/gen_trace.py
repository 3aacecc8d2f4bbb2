#!/usr/bin/env python3
"""Deterministic generator of realistic vmscan ftrace text traces.

Produces a file in the format of ``/sys/kernel/tracing/trace`` (``# tracer:
nop`` header and column legend, then one event per line) containing memcg /
direct reclaim episodes with priority loops, kswapd episodes, slab shrinker
events, writeback and a sprinkling of page allocator events, as emitted by a
RHEL 8.0 (4.18.0-147), RHEL 8.6+ (4.18.0-372) or 6.6 kernel.

The output is byte-for-byte deterministic for a given (size, kernel, seed,
cpus, procs) and is streamed to disk in large blocks, so memory use does not
depend on the output size.

CLI::

    python benchmarks/gen_trace.py --size 100M --kernel 4.18-372 --seed 1 \
        [--cpus 16] [--procs 200] [--gzip] -o OUT

Library::

    from gen_trace import generate
    n_events = generate("/tmp/t.trace", 100 << 20, kernel="6.6", seed=1)
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import re
import shutil
import sys
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from functools import partial
from itertools import accumulate, chain, cycle

import numpy as np

KERNELS: tuple[str, ...] = ("4.18-147", "4.18-372", "6.6")

# Each time window is sized adaptively to hold about this many lines.
_TARGET_LINES_PER_WINDOW = 40_000
# Safety caps that keep a single episode (and so memory) bounded.
_MAX_ROUNDS_PER_PRIO = 48
_MAX_PAIRS_PER_EPISODE = 1_500

_LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file")
_WB_ASYNC = ("RECLAIM_WB_ANON|RECLAIM_WB_ASYNC", "RECLAIM_WB_FILE|RECLAIM_WB_ASYNC")
_WB_PLAIN = ("RECLAIM_WB_ANON", "RECLAIM_WB_FILE")

# (template, weight).  {U} unbound pool id, {c} cpu, {n} small int, {i} irq.
# Comms are truncated to 15 characters like the kernel's TASK_COMM_LEN.
_COMMS: tuple[tuple[str, int], ...] = (
    ("php-fpm", 12),
    ("postgres", 12),
    ("java", 12),
    ("bash", 6),
    ("Web Content", 6),
    ("<...>", 6),
    ("python3", 6),
    ("kworker/u{U}:{n}", 6),
    ("mysqld", 5),
    ("nginx", 4),
    ("node", 4),
    ("kworker/{c}:{n}", 3),
    ("redis-server", 3),
    ("chrome", 3),
    ("Isolated Web Co", 3),
    ("C2 CompilerThre", 3),
    ("GC Thread#{n}", 3),
    ("stress-ng-vm", 2),
    ("ThreadPoolForeg", 2),
    ("containerd-shim", 2),
    ("cc1plus", 2),
    ("kworker/{c}:{n}H", 1),
    ("jbd2/sda1-8", 1),
    ("irq/{i}-nvme0q{n}", 1),
    ("ora_dbw0_orcl", 1),
    ("memhog:worker-2", 1),
    ("systemd-journal", 1),
    ("khugepaged", 1),
    ("dockerd", 1),
    ("rsync", 1),
    ("tar", 1),
    ("gmain", 1),
    ("sshd", 1),
)
_KTHREAD_PREFIXES = ("kworker/", "jbd2/", "irq/", "khugepaged")

# Weighted irq-flag columns (100 entries each so one uniform draw picks one).
_FLAGS4: list[str] = (
    ["...."] * 70
    + [".N.."] * 8
    + ["...1"] * 8
    + ["d..."] * 5
    + ["dN.."] * 3
    + ["d..1"] * 3
    + [".N.1"] * 2
    + [".n.."] * 1
)
_FLAGS5: list[str] = (
    ["....."] * 70
    + [".N..."] * 8
    + ["...1."] * 7
    + ["d..1."] * 5
    + ["d...."] * 3
    + ["....1"] * 3
    + ["dN.1."] * 2
    + [".n..."] * 1
    + [".N.1."] * 1
)

# (gfp_flags, order, weight) used for reclaim entry points.
_RECLAIM_GFP: tuple[tuple[str, int, int], ...] = (
    ("GFP_HIGHUSER_MOVABLE", 0, 70),
    ("GFP_KERNEL", 0, 8),
    ("GFP_NOFS", 0, 5),
    ("GFP_KERNEL_ACCOUNT", 0, 4),
    ("GFP_NOIO", 0, 2),
    ("GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY", 0, 2),
    ("GFP_TRANSHUGE_LIGHT", 9, 3),
    ("GFP_TRANSHUGE", 9, 2),
    ("GFP_KERNEL|__GFP_COMP", 2, 2),
    ("GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP", 3, 2),
)
# (gfp_flags, order, migratetype, weight) for mm_page_alloc.
_ALLOC_GFP: tuple[tuple[str, int, int, int], ...] = (
    ("GFP_HIGHUSER_MOVABLE|__GFP_ZERO", 0, 1, 30),
    ("GFP_HIGHUSER_MOVABLE", 0, 1, 25),
    ("GFP_KERNEL", 0, 0, 10),
    ("GFP_KERNEL_ACCOUNT|__GFP_ZERO", 0, 0, 8),
    ("GFP_NOFS|__GFP_RECLAIMABLE", 0, 2, 6),
    ("GFP_NOWAIT|__GFP_NOWARN", 0, 0, 5),
    ("GFP_KERNEL|__GFP_COMP", 2, 0, 4),
    ("GFP_NOWAIT|__GFP_NOWARN|__GFP_COMP|__GFP_RECLAIMABLE", 3, 2, 3),
    ("GFP_TRANSHUGE_LIGHT", 9, 1, 2),
)
_SHRINKERS: tuple[tuple[str, int], ...] = (
    ("super_cache_scan+0x0/0x1a0", 10),
    ("scan_shadow_nodes+0x0/0x50", 3),
    ("deferred_split_scan+0x0/0x2a0", 2),
    ("xfs_buftarg_shrink_scan+0x0/0x80 [xfs]", 3),
    ("xfs_qm_shrink_scan+0x0/0x130 [xfs]", 1),
    ("ext4_es_scan+0x0/0x170 [ext4]", 2),
    ("mb_cache_scan+0x0/0x20 [mbcache]", 1),
    ("rpcauth_cache_shrink_scan+0x0/0x60 [sunrpc]", 1),
    ("dm_bufio_shrink_scan+0x0/0x130 [dm_bufio]", 1),
)
_THROTTLE: tuple[tuple[str, int], ...] = (
    ("VMSCAN_THROTTLE_WRITEBACK", 100000),
    ("VMSCAN_THROTTLE_WRITEBACK", 100000),
    ("VMSCAN_THROTTLE_ISOLATED", 20000),
    ("VMSCAN_THROTTLE_NOPROGRESS", 1000),
)

_HEADER4 = """\
# tracer: nop
#
{entries}
#
#                              _-----=> irqs-off
#                             / _----=> need-resched
#                            | / _---=> hardirq/softirq
#                            || / _--=> preempt-depth
#                            ||| /     delay
#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION
#              | |       |   ||||       |         |
"""
_HEADER5 = """\
# tracer: nop
#
{entries}
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
"""
# Width reserved for "N/N" so the header can be patched in place at the end.
_ENTRIES_WIDTH = 21


def _uniform_blocks(rng: np.random.Generator, block: int = 1 << 16) -> Iterator[list[float]]:
    while True:
        yield rng.random(block).tolist()


def _ptr_hash(x: int) -> int:
    """Stand-in for the kernel's hashed %p: 32 significant bits."""
    return ((x * 2654435761) ^ (x >> 7) ^ 0x5BD1E995) & 0xFFFFFFFF


class _Lane:
    __slots__ = ("cpu", "nid", "next_t", "weight", "procs", "kswapd")

    def __init__(self, cpu: int, nid: int, weight: float, kswapd: bool) -> None:
        self.cpu = cpu
        self.nid = nid
        self.next_t = 0
        self.weight = weight
        self.procs: list[int] = []  # indices into _TraceGen.procs homed on this cpu
        self.kswapd = kswapd


class _TraceGen:
    """Produces time-sorted blocks of trace lines."""

    def __init__(self, kernel: str, seed: int, cpus: int, procs: int) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
        if cpus < 1 or cpus > 999:
            raise ValueError("cpus must be in 1..999")
        if not 1 <= procs <= 100_000:
            raise ValueError("procs must be in 1..100000")
        self.kernel = kernel
        self.cpus = cpus
        self.k147 = kernel == "4.18-147"
        self.k66 = kernel == "6.6"
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7ACE]))
        self.u: Callable[[], float] = partial(next, chain.from_iterable(_uniform_blocks(rng)))
        flags = _FLAGS5 if self.k66 else _FLAGS4
        # Irq-flag column: a long pre-drawn weighted sequence, cycled (one C call per line).
        flag_seq = [flags[int(self.u() * len(flags))] for _ in range(9973)]
        self.next_flags: Callable[[], str] = partial(next, cycle(flag_seq))
        self.nodes = 2 if cpus >= 8 else 1
        self.max_pfn = (1 << 24) * self.nodes  # 64 GiB per node
        # Flattened weighted tables so a single uniform draw picks an entry.
        self.reclaim_gfp = [(g, o) for g, o, w in _RECLAIM_GFP for _ in range(w)]
        self.reclaim_gfp0 = [(g, o) for g, o in self.reclaim_gfp if o == 0]
        self.alloc_gfp = [(g, o, m) for g, o, m, w in _ALLOC_GFP for _ in range(w)]
        self.recent_pages: list[tuple[int, int]] = []
        self._build_formats()
        self._build_world(procs)
        # Uptime at trace start, in microseconds.
        self.t0 = int(math.exp(math.log(2_000) + self.u() * math.log(1_000))) * 1_000_000
        self.t0 += int(self.u() * 1_000_000)
        self.pressure = 0.5

    # ------------------------------------------------------------------ setup
    def _build_formats(self) -> None:
        head = "%s%s %5d.%06d: "
        k147, k66 = self.k147, self.k66
        pfn = "0x%x" if k66 else "%d"
        if k147:
            begin = "order=%d may_writepage=%d gfp_flags=%s classzone_idx=%d\n"
        else:
            begin = "order=%d gfp_flags=%s\n"
        self.f_memcg_begin = head + "mm_vmscan_memcg_reclaim_begin: " + begin
        self.f_direct_begin = head + "mm_vmscan_direct_reclaim_begin: " + begin
        self.f_memcg_end = head + "mm_vmscan_memcg_reclaim_end: nr_reclaimed=%d\n"
        self.f_direct_end = head + "mm_vmscan_direct_reclaim_end: nr_reclaimed=%d\n"
        self.f_isolate = head + (
            "mm_vmscan_lru_isolate: isolate_mode=0 classzone=%d order=%d nr_requested=%d "
            "nr_scanned=%d nr_skipped=%d nr_taken=%d lru=%s\n"
        )
        if k147:
            self.f_inactive = head + (
                "mm_vmscan_lru_shrink_inactive: nid=%d nr_scanned=%d nr_reclaimed=%d "
                "nr_dirty=%d nr_writeback=%d nr_congested=%d nr_immediate=%d "
                "nr_activate=%d nr_ref_keep=%d nr_unmap_fail=%d priority=%d flags=%s\n"
            )
        else:
            self.f_inactive = head + (
                "mm_vmscan_lru_shrink_inactive: nid=%d nr_scanned=%d nr_reclaimed=%d "
                "nr_dirty=%d nr_writeback=%d nr_congested=%d nr_immediate=%d "
                "nr_activate_anon=%d nr_activate_file=%d nr_ref_keep=%d nr_unmap_fail=%d "
                "priority=%d flags=%s\n"
            )
        self.f_active = head + (
            "mm_vmscan_lru_shrink_active: nid=%d nr_taken=%d nr_active=%d "
            "nr_deactivated=%d nr_referenced=%d priority=%d flags=%s\n"
        )
        self.f_is_low = head + (
            "mm_vmscan_inactive_list_is_low: nid=%d reclaim_idx=%d total_inactive=%d "
            "inactive=%d total_active=%d active=%d ratio=%d flags=%s\n"
        )
        if k66:
            self.f_wakeup = head + "mm_vmscan_wakeup_kswapd: nid=%d order=%d gfp_flags=%s\n"
            self.f_kwake = head + "mm_vmscan_kswapd_wake: nid=%d order=%d\n"
            self.f_write = head + "mm_vmscan_write_folio: page=%016x pfn=0x%x flags=%s\n"
        else:
            self.f_wakeup = head + "mm_vmscan_wakeup_kswapd: nid=%d zid=%d order=%d gfp_flags=%s\n"
            self.f_kwake = head + "mm_vmscan_kswapd_wake: nid=%d zid=%d order=%d\n"
            self.f_write = head + "mm_vmscan_writepage: page=%016x pfn=%d flags=%s\n"
        self.f_ksleep = head + "mm_vmscan_kswapd_sleep: nid=%d\n"
        self.f_slab_start = head + (
            "mm_shrink_slab_start: %s %016x: nid: %d objects to shrink %d gfp_flags %s "
            "cache items %d delta %d total_scan %d priority %d\n"
        )
        self.f_slab_end = head + (
            "mm_shrink_slab_end: %s %016x: nid: %d unused scan count %d new scan count %d "
            "total_scan %d last shrinker return val %d\n"
        )
        self.f_throttled = head + (
            "mm_vmscan_throttled: nid=%d usec_timeout=%d usect_delayed=%d reason=%s\n"
        )
        self.f_alloc = head + (
            "mm_page_alloc: page=%016x pfn=" + pfn + " order=%d migratetype=%d gfp_flags=%s\n"
        )
        self.f_free = head + "mm_page_free: page=%016x pfn=" + pfn + " order=%d\n"

    def _build_world(self, nprocs: int) -> None:
        u = self.u
        cpus = self.cpus
        comm_pool = [c for c, w in _COMMS for _ in range(w)]
        kpid = 60 + int(u() * 60)  # kswapd<nid> pids
        used: set[int] = {kpid + nid for nid in range(self.nodes)}
        self.procs: list[tuple[str, int, int]] = []
        for _ in range(nprocs):
            tmpl = comm_pool[int(u() * len(comm_pool))]
            comm = tmpl.format(
                U=(2 * cpus) if u() < 0.8 else cpus,
                c=int(u() * cpus),
                n=int(u() * 12),
                i=24 + int(u() * 100),
            )[:15]
            kthread = comm.startswith(_KTHREAD_PREFIXES)
            while True:
                r = u()
                if kthread:
                    pid = 2 + int(math.exp(u() * math.log(60_000)))
                elif r < 0.07:
                    pid = 1_000_000 + int(u() * 3_194_303)  # 7 digits (pid_max 4194304)
                else:
                    pid = 300 + int(math.exp(u() * math.log(999_000)))
                if pid not in used:
                    used.add(pid)
                    break
            self.procs.append((comm, pid, int(u() * cpus)))
        # A task is in at most one episode at a time: time (us) until which it is busy.
        self.busy_until = [0] * nprocs
        self.lanes: list[_Lane] = []
        per_node = max(1, cpus // self.nodes)
        for cpu in range(cpus):
            lane = _Lane(cpu, min(cpu // per_node, self.nodes - 1), 0.2 + 1.3 * u(), False)
            lane.procs = [i for i, (_, _, home) in enumerate(self.procs) if home == cpu]
            self.lanes.append(lane)
        self.kswapd: list[tuple[str, int]] = []
        for nid in range(self.nodes):
            self.kswapd.append((f"kswapd{nid}", kpid + nid))
            lane = _Lane(nid * per_node, nid, 1.0, True)
            self.lanes.append(lane)
        self.per_node = per_node
        # Shrinker instances: (symbol, hashed pointer).
        pool = [s for s, w in _SHRINKERS for _ in range(w)]
        self.shrinkers = [
            (pool[int(u() * len(pool))], _ptr_hash(0xFFFF8880_0000_0000 + int(u() * (1 << 32))))
            for _ in range(24)
        ]

    def header(self, n_events: int) -> str:
        entries = f"{n_events}/{n_events}".ljust(_ENTRIES_WIDTH)
        line = f"# entries-in-buffer/entries-written: {entries}   #P:{self.cpus}"
        return (_HEADER5 if self.k66 else _HEADER4).format(entries=line)

    # --------------------------------------------------------------- episodes
    def _prefix(self, comm: str, pid: int, cpu: int) -> str:
        return f"{comm:>16}-{pid:<5d} [{cpu:03d}] "

    def _reclaim_loop(
        self,
        t: int,
        prefix: str,
        nid: int,
        classzone: int,
        order: int,
        gfp: str,
        target: int,
        sizes: list[int],
        anon_ok: bool,
        eff: float,
        min_prio: int,
        kswapd: bool,
        p_slab: float,
        ta: Callable[[int], None],
        la: Callable[[str], None],
    ) -> tuple[int, int]:
        """Priority loop shared by all reclaimers. Returns (t, nr_reclaimed)."""
        u = self.u
        nf = self.next_flags
        k147 = self.k147
        k66 = self.k66
        f_iso = self.f_isolate
        f_ina = self.f_inactive
        f_act = self.f_active
        f_low = self.f_is_low
        f_wr = self.f_write
        max_pfn = self.max_pfn
        reclaimed = 0
        pairs = 0
        anon_eff = eff * 0.5
        dirty_p = 0.12 if kswapd else 0.05
        for prio in range(12, min_prio - 1, -1):
            nr = [
                sizes[0] >> prio if anon_ok else 0,
                sizes[1] >> prio if anon_ok else 0,
                sizes[2] >> prio,
                sizes[3] >> prio,
            ]
            if prio == 12 and not (nr[2] or nr[0]) and sizes[2]:
                nr[2] = 1 + (sizes[2] >> 10 if u() < 0.5 else 0)  # small lists still get probed
            rounds = 0
            wb_seen = 0
            while (nr[0] or nr[1] or nr[2] or nr[3]) and rounds < _MAX_ROUNDS_PER_PRIO:
                rounds += 1
                for lru in (0, 1, 2, 3):
                    n = nr[lru]
                    if not n:
                        continue
                    req = 32 if n > 32 else n
                    nr[lru] = n - req
                    file = lru >> 1
                    if lru & 1:
                        inact = sizes[lru - 1]
                        act = sizes[lru]
                        gb = ((inact + act) * 4096) >> 30
                        ratio = int(math.sqrt(10 * gb)) if gb else 1
                        if k147:
                            t += 1 + int(u() * 6)
                            s, us = divmod(t, 1_000_000)
                            ta(t)
                            la(
                                f_low
                                % (
                                    prefix,
                                    nf(),
                                    s,
                                    us,
                                    nid,
                                    classzone,
                                    inact + (int(u() * 64) if u() < 0.2 else 0),
                                    inact,
                                    act + (int(u() * 64) if u() < 0.2 else 0),
                                    act,
                                    ratio,
                                    _WB_PLAIN[file],
                                )
                            )
                        if inact * ratio >= act:
                            nr[lru] = 0  # not low: leave the active list alone this priority
                            continue
                        scanned = req if u() < 0.9 else 1 + int(u() * req)
                        taken = scanned if u() < 0.9 else int(u() * (scanned + 1))
                        t += 1 + int(u() * 8)
                        s, us = divmod(t, 1_000_000)
                        ta(t)
                        la(
                            f_iso
                            % (
                                prefix,
                                nf(),
                                s,
                                us,
                                classzone,
                                order,
                                req,
                                scanned,
                                0,
                                taken,
                                _LRU_NAMES[lru],
                            )
                        )
                        referenced = int(taken * u() * 0.6)
                        nr_active = int(referenced * u() * 0.5) if file else referenced
                        deact = taken - nr_active
                        t += 2 + int(taken * u() * 1.5)
                        s, us = divmod(t, 1_000_000)
                        ta(t)
                        la(
                            f_act
                            % (
                                prefix,
                                nf(),
                                s,
                                us,
                                nid,
                                taken,
                                nr_active,
                                deact,
                                referenced,
                                prio,
                                _WB_ASYNC[file],
                            )
                        )
                        sizes[lru] = act - deact
                        sizes[lru - 1] = inact + deact
                        continue
                    # inactive list: isolate + (writeback) + shrink_inactive
                    pairs += 1
                    scanned = req if u() < 0.9 else 1 + int(u() * req)
                    skipped = 0 if u() < 0.93 else 1 + int(u() * 16)
                    taken = scanned if u() < 0.85 else int(u() * (scanned + 1))
                    t += 1 + int(u() * u() * 40)
                    s, us = divmod(t, 1_000_000)
                    ta(t)
                    la(
                        f_iso
                        % (
                            prefix,
                            nf(),
                            s,
                            us,
                            classzone,
                            order,
                            req,
                            scanned,
                            skipped,
                            taken,
                            _LRU_NAMES[lru],
                        )
                    )
                    e = eff if file else anon_eff
                    rec = int(taken * e * (0.7 + 0.6 * u()) + u())
                    if rec > taken:
                        rec = taken
                    rest = taken - rec
                    dirty = wb = cong = imm = 0
                    if rest and u() < dirty_p:
                        dirty = 1 + int(u() * rest)
                        wb = int(u() * (dirty + 1))
                        cong = int(u() * u() * (wb + 1))
                        imm = int(u() * u() * (wb + 1))
                        wb_seen += wb
                        if not file or kswapd:
                            flags_wb = _WB_ASYNC[file]
                            for _ in range(dirty if dirty < 3 else 1 + int(u() * 3)):
                                pfn = 4096 + int(u() * max_pfn)
                                t += 1 + int(u() * 15)
                                s, us = divmod(t, 1_000_000)
                                ta(t)
                                la(
                                    f_wr
                                    % (
                                        prefix,
                                        nf(),
                                        s,
                                        us,
                                        _ptr_hash(pfn),
                                        pfn,
                                        flags_wb,
                                    )
                                )
                    activate = int(rest * u())
                    rest2 = rest - activate
                    ref_keep = int(rest2 * u() * 0.5)
                    unmap_fail = int((rest2 - ref_keep) * u()) if (not file and u() < 0.1) else 0
                    t += 3 + int(taken * u() * 4)
                    if u() < 0.004:
                        t += 1_000 + int(u() * 20_000)  # preempted inside shrink_page_list
                    s, us = divmod(t, 1_000_000)
                    ta(t)
                    if k147:
                        la(
                            f_ina
                            % (
                                prefix,
                                nf(),
                                s,
                                us,
                                nid,
                                scanned,
                                rec,
                                dirty,
                                wb,
                                cong,
                                imm,
                                activate,
                                ref_keep,
                                unmap_fail,
                                prio,
                                _WB_ASYNC[file],
                            )
                        )
                    else:
                        aa = activate if not file else (int(activate * u() * 0.2))
                        af = activate - aa
                        la(
                            f_ina
                            % (
                                prefix,
                                nf(),
                                s,
                                us,
                                nid,
                                scanned,
                                rec,
                                dirty,
                                wb,
                                cong,
                                imm,
                                aa,
                                af,
                                ref_keep,
                                unmap_fail,
                                prio,
                                _WB_ASYNC[file],
                            )
                        )
                    reclaimed += rec
                    sz = sizes[lru] - rec - activate
                    sizes[lru] = sz if sz > 64 else 64
                    sizes[lru + 1] += activate
                if reclaimed >= target or pairs >= _MAX_PAIRS_PER_EPISODE:
                    break
            if u() < p_slab:
                t = self._slab(t, prefix, nid, prio, "GFP_KERNEL" if kswapd else gfp, ta, la)
            if k66 and not kswapd and prio < 12 and u() < (0.25 if wb_seen else 0.02):
                reason, timeout = _THROTTLE[int(u() * len(_THROTTLE))]
                if wb_seen and u() < 0.7:
                    reason, timeout = _THROTTLE[0]
                delayed = int(timeout * u()) if u() < 0.8 else timeout + int(u() * 4000)
                t += 2 + int(u() * 10)
                s, us = divmod(t, 1_000_000)
                ta(t)
                la(
                    self.f_throttled
                    % (
                        prefix,
                        nf(),
                        s,
                        us,
                        nid,
                        timeout,
                        delayed,
                        reason,
                    )
                )
                t += delayed
            if reclaimed >= target or pairs >= _MAX_PAIRS_PER_EPISODE:
                break
        return t, reclaimed

    def _slab(
        self,
        t: int,
        prefix: str,
        nid: int,
        prio: int,
        gfp: str,
        ta: Callable[[int], None],
        la: Callable[[str], None],
    ) -> int:
        u = self.u
        nf = self.next_flags
        shr = self.shrinkers
        for _ in range(1 + int(u() * u() * 4)):
            name, ptr = shr[int(u() * len(shr))]
            snid = nid if u() < 0.6 else 0
            freeable = int(math.exp(u() * 14.5))
            # Occasionally a runaway nr_deferred with 13 digits.
            nr = (
                1_000_000_000_000 + int(u() * 8_999_999_999_999)
                if u() < 0.03
                else int(u() * u() * 700)
            )
            delta = ((freeable >> prio) * 4) // 2
            total = nr + delta
            if delta < freeable // 4 and total > freeable // 2:
                total = freeable // 2
            if total > freeable * 2:
                total = freeable * 2
            if total >= 128 or (total and total >= freeable):
                if u() < 0.35:
                    scanned = ((total + 127) // 128) * 128  # shrinker over-reports nr_scanned
                else:
                    scanned = total - total % 128 if total >= 128 else total
                freed = int(scanned * u() * 1.05)
            else:
                scanned = 0
                freed = 0
            remaining = total - scanned
            if nr >= 1_000_000_000_000:
                new_nr = nr + delta - scanned
            else:
                new_nr = remaining if remaining > 0 else int(u() * u() * 64)
            t += 2 + int(u() * 10)
            s, us = divmod(t, 1_000_000)
            ta(t)
            la(
                self.f_slab_start
                % (
                    prefix,
                    nf(),
                    s,
                    us,
                    name,
                    ptr,
                    snid,
                    nr,
                    gfp,
                    freeable,
                    delta,
                    total,
                    prio,
                )
            )
            t += 2 + int(scanned * u() * 0.3) + int(u() * 30)
            s, us = divmod(t, 1_000_000)
            ta(t)
            la(
                self.f_slab_end
                % (
                    prefix,
                    nf(),
                    s,
                    us,
                    name,
                    ptr,
                    snid,
                    nr,
                    new_nr,
                    remaining,
                    freed,
                )
            )
        return t

    def _pick_proc(self, lane: _Lane | None, t: int) -> int:
        """Index of a task that is idle at ``t`` (preferring the lane's own), or -1."""
        u = self.u
        busy = self.busy_until
        if lane is not None and lane.procs:
            lp = lane.procs
            for _ in range(4):
                i = lp[int(u() * len(lp))]
                if busy[i] <= t:
                    return i
        n = len(self.procs)
        for _ in range(8):
            i = int(u() * n)
            if busy[i] <= t:
                return i
        return -1

    def _process_episode(
        self, lane: _Lane, ta: Callable[[int], None], la: Callable[[str], None]
    ) -> int:
        t = lane.next_t
        idx = self._pick_proc(lane, t)
        if idx < 0:
            return t + 50  # every task is busy elsewhere; this cpu idles a little
        comm, pid, _ = self.procs[idx]
        prefix = self._prefix(comm, pid, lane.cpu)
        t = self._task_episode(t, prefix, lane.nid, ta, la)
        self.busy_until[idx] = t + 1
        return t

    def _task_episode(
        self, t: int, prefix: str, nid: int, ta: Callable[[int], None], la: Callable[[str], None]
    ) -> int:
        u = self.u
        nf = self.next_flags
        r = u()
        if r < 0.12:
            return self._alloc_burst(t, prefix, ta, la)
        memcg = r < 0.62
        # try_to_free_mem_cgroup_pages() always reports order 0.
        table = self.reclaim_gfp0 if memcg else self.reclaim_gfp
        gfp, order = table[int(u() * len(table))]
        classzone = 2 if u() < 0.93 else (3 if u() < 0.5 else 1)
        if not memcg and u() < 0.5:
            s, us = divmod(t, 1_000_000)
            ta(t)
            if self.k66:
                la(self.f_wakeup % (prefix, nf(), s, us, nid, order, gfp))
            else:
                la(self.f_wakeup % (prefix, nf(), s, us, nid, classzone, order, gfp))
            t += 2 + int(u() * 30)
        s, us = divmod(t, 1_000_000)
        ta(t)
        fmt = self.f_memcg_begin if memcg else self.f_direct_begin
        if self.k147:
            la(fmt % (prefix, nf(), s, us, order, 1 if u() < 0.97 else 0, gfp, classzone))
        else:
            la(fmt % (prefix, nf(), s, us, order, gfp))
        if memcg:
            target = 32 if u() < 0.7 else 32 << int(u() * 5)
            base = int(math.exp(math.log(300) + u() * math.log(10_000)))  # 300 .. 3M pages
        else:
            target = 32
            base = int(math.exp(math.log(20_000) + u() * math.log(1_000)))  # 20k .. 20M
        sizes = [
            int(base * (0.2 + u())),
            int(base * (0.2 + 1.5 * u())),
            int(base * (0.3 + u())),
            int(base * (0.3 + 1.5 * u())),
        ]
        q = u()
        if q < 0.6:
            eff = 0.6 + 0.4 * u()
        elif q < 0.85:
            eff = 0.1 + 0.5 * u()
        else:
            eff = 0.05 * u()  # thrashing: little or nothing reclaimable
        min_prio = 0 if u() < 0.5 else int(u() * 10)
        t, reclaimed = self._reclaim_loop(
            t,
            prefix,
            nid,
            classzone,
            order,
            gfp,
            target,
            sizes,
            u() < 0.3,
            eff,
            min_prio,
            False,
            0.25 if memcg else 0.5,
            ta,
            la,
        )
        t += 1 + int(u() * 10)
        s, us = divmod(t, 1_000_000)
        ta(t)
        la(
            (self.f_memcg_end if memcg else self.f_direct_end)
            % (
                prefix,
                nf(),
                s,
                us,
                reclaimed,
            )
        )
        if u() < 0.3:
            t = self._alloc_burst(t + 1 + int(u() * 20), prefix, ta, la)
        return t

    def _kswapd_episode(
        self, lane: _Lane, ta: Callable[[int], None], la: Callable[[str], None]
    ) -> int:
        u = self.u
        nf = self.next_flags
        t = lane.next_t
        nid = lane.nid
        cpu0 = nid * self.per_node
        # The allocation that woke kswapd, from some task on the node.
        gfp, order = self.reclaim_gfp[int(u() * len(self.reclaim_gfp))]
        widx = self._pick_proc(None, t)
        if widx >= 0:
            comm, pid, _ = self.procs[widx]
            self.busy_until[widx] = t + 1
            wcpu = min(cpu0 + int(u() * self.per_node), self.cpus - 1)
            wprefix = self._prefix(comm, pid, wcpu)
            s, us = divmod(t, 1_000_000)
            ta(t)
            if self.k66:
                la(self.f_wakeup % (wprefix, nf(), s, us, nid, order, gfp))
            else:
                la(self.f_wakeup % (wprefix, nf(), s, us, nid, 2, order, gfp))
        kcomm, kpid = self.kswapd[nid]
        prefix = self._prefix(kcomm, kpid, min(cpu0 + int(u() * self.per_node), self.cpus - 1))
        t += 3 + int(u() * 60)
        s, us = divmod(t, 1_000_000)
        ta(t)
        if self.k66:
            la(self.f_kwake % (prefix, nf(), s, us, nid, order))
        else:
            la(self.f_kwake % (prefix, nf(), s, us, nid, 2, order))
        base = int(math.exp(math.log(200_000) + u() * math.log(100)))
        sizes = [
            int(base * (0.2 + u())),
            int(base * (0.2 + 1.5 * u())),
            int(base * (0.3 + u())),
            int(base * (0.3 + 1.5 * u())),
        ]
        target = int(math.exp(math.log(256) + u() * math.log(64)))
        eff = 0.5 + 0.5 * u() if u() < 0.8 else 0.2 * u()
        t, _ = self._reclaim_loop(
            t,
            prefix,
            nid,
            2,
            order,
            gfp,
            target,
            sizes,
            u() < 0.4,
            eff,
            int(u() * 8),
            True,
            0.6,
            ta,
            la,
        )
        t += 5 + int(u() * 100)
        s, us = divmod(t, 1_000_000)
        ta(t)
        la(self.f_ksleep % (prefix, nf(), s, us, nid))
        return t

    def _alloc_burst(
        self, t: int, prefix: str, ta: Callable[[int], None], la: Callable[[str], None]
    ) -> int:
        u = self.u
        nf = self.next_flags
        recent = self.recent_pages
        ag = self.alloc_gfp
        f_alloc = self.f_alloc
        f_free = self.f_free
        for _ in range(1 + int(u() * 6)):
            t += 1 + int(u() * 40)
            s, us = divmod(t, 1_000_000)
            ta(t)
            if recent and u() < 0.45:
                pfn, order = recent.pop(int(u() * len(recent)))
                la(f_free % (prefix, nf(), s, us, _ptr_hash(pfn), pfn, order))
            else:
                gfp, order, mt = ag[int(u() * len(ag))]
                pfn = (4096 + int(u() * self.max_pfn)) & ~((1 << order) - 1)
                la(f_alloc % (prefix, nf(), s, us, _ptr_hash(pfn), pfn, order, mt, gfp))
                if len(recent) < 4096:
                    recent.append((pfn, order))
        return t

    # ----------------------------------------------------------------- driver
    def blocks(self) -> Iterator[list[str]]:
        """Yield successive blocks of lines in non-decreasing timestamp order."""
        u = self.u
        ts: list[int] = []
        lines: list[str] = []
        ta = ts.append
        la = lines.append
        w0 = self.t0
        for lane in self.lanes:
            lane.next_t = w0 + int(u() * 2_000)
        delta = 20_000
        while True:
            w1 = w0 + delta
            p = self.pressure * math.exp((u() - 0.5) * 0.6)
            if u() < 0.02:
                p = 0.05 if u() < 0.5 else 1.0
            self.pressure = p = min(1.0, max(0.03, p))
            for lane in self.lanes:
                if lane.kswapd:
                    mean = 150_000 / p
                    while lane.next_t < w1:
                        end = self._kswapd_episode(lane, ta, la)
                        lane.next_t = end + 1 + int(-math.log(1.0 - u()) * mean)
                else:
                    mean = 10_000 / (p * lane.weight)
                    while lane.next_t < w1:
                        end = self._process_episode(lane, ta, la)
                        lane.next_t = end + 1 + int(-math.log(1.0 - u()) * mean)
            arr = np.array(ts, dtype=np.int64)
            order = np.argsort(arr, kind="stable")
            k = int(np.searchsorted(arr[order], w1))
            idx = order.tolist()
            out = [lines[i] for i in idx[:k]]
            keep = idx[k:]
            ts[:] = [ts[i] for i in keep]
            lines[:] = [lines[i] for i in keep]
            yield out
            n = max(len(out), 1)
            delta = int(delta * min(4.0, max(0.25, _TARGET_LINES_PER_WINDOW / n)))
            delta = min(1_000_000, max(200, delta))
            w0 = w1


def parse_size(text: str) -> int:
    """Parse '500K', '100M', '1G', '1.5G', '123' (binary multiples) into bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"bad size {text!r} (expected e.g. 500K, 100M, 1G)")
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def _write_plain(path: str, size_bytes: int, gen: _TraceGen) -> tuple[int, int]:
    """Stream events into ``path``; return (event lines, bytes written)."""
    placeholder = gen.header(0)
    n_events = 0
    with open(path, "wb", buffering=0) as f:
        f.write(placeholder.encode("ascii"))
        written = len(placeholder)
        for block in gen.blocks():
            chunk = "".join(block)
            if written + len(chunk) > size_bytes:
                room = size_bytes - written
                k = bisect_right(list(accumulate(map(len, block))), room)
                chunk = "".join(block[:k])
                f.write(chunk.encode("ascii"))
                written += len(chunk)
                n_events += k
                break
            f.write(chunk.encode("ascii"))
            written += len(chunk)
            n_events += len(block)
        header = gen.header(n_events)
        assert len(header) == len(placeholder)
        f.seek(0)
        f.write(header.encode("ascii"))
    return n_events, written


def generate(
    path: str,
    size_bytes: int,
    kernel: str = "4.18-372",
    seed: int = 1,
    cpus: int = 16,
    procs: int = 200,
    gzip_output: bool = False,
) -> int:
    """Write a trace of at most ``size_bytes`` uncompressed bytes to ``path``.

    The file ends on a whole line as close to ``size_bytes`` as possible (the
    ~450-byte ``#`` header is always written). Returns the number of event
    lines written; the 11 (4.18) or 12 (6.6) ``#`` header lines are not
    counted, so ``wc -l`` reports that many more. With ``gzip_output`` the
    trace is gzip-compressed (level 6, mtime 0, so still deterministic).
    """
    return _generate(path, size_bytes, kernel, seed, cpus, procs, gzip_output)[0]


def _generate(
    path: str,
    size_bytes: int,
    kernel: str,
    seed: int,
    cpus: int,
    procs: int,
    gzip_output: bool,
) -> tuple[int, int]:
    gen = _TraceGen(kernel, seed, cpus, procs)
    if not gzip_output:
        return _write_plain(path, size_bytes, gen)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        res = _write_plain(tmp, size_bytes, gen)
        with (
            open(tmp, "rb") as src,
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz,
        ):
            shutil.copyfileobj(src, gz, 4 << 20)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate a deterministic vmscan ftrace text trace.")
    ap.add_argument("--size", required=True, help="target uncompressed size, e.g. 500K, 100M, 1G")
    ap.add_argument("--kernel", choices=KERNELS, default="4.18-372")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cpus", type=int, default=16)
    ap.add_argument("--procs", type=int, default=200)
    ap.add_argument("--gzip", action="store_true", help="gzip the output")
    ap.add_argument("-o", "--output", required=True, help="output path")
    args = ap.parse_args(argv)
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        ap.error(str(exc))
    t0 = time.perf_counter()
    try:
        n, nbytes = _generate(
            args.output, size, args.kernel, args.seed, args.cpus, args.procs, args.gzip
        )
    except ValueError as exc:
        ap.error(str(exc))
    dt = time.perf_counter() - t0
    print(
        f"{args.output}: {n} events, {nbytes} bytes uncompressed, "
        f"{os.path.getsize(args.output)} on disk, {dt:.2f}s "
        f"({nbytes / (1 << 20) / max(dt, 1e-9):.1f} MiB/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
