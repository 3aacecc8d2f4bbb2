"""The incident of the notes as a workload: a Kubernetes node whose ``kubepods`` memcg hits its limit.

Spec §10 V4/V5 and §7.6: a kubepods tree of 500 memcgs, no swap, a page cache that is small and
partly referenced (a few pods hold most of it, on node 0), anonymous memory filling the rest of the
limit, and ~600 memcg-aware shrinkers registered after the pods came online, so every pod memcg's
shrinker bitmap has ~600 bits set.  With ``cgroup.memory=nokmem`` (profile switch ``kmem=off``)
those bits are what 4.18.0-372 walks.  The machine (8 nodes of 64 KiB pages) is the scenario's.

The demands over the limit come either as ``trigger_faults`` faults ``trigger_gap`` apart, or as the
recorded reclaim calls of a trace (``demands``: time, CPU, pid, comm), each replayed as a fault of
that task at that time on that CPU.

Nothing here states an outcome: the episode's length, the slab share and the priority descent come
out of the engine's control flow and the profile's cost parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..engine.shrinker_registry import ShrinkerSpec, SlabHistory
from ..engine.state import OP_ANON_FAULT, OP_FILE_MAP, OP_FILE_READ, OP_MEMCG_SET_MAX
from .generators import Builder, Generator, Rows, _anon0

SUPER = "super_cache_scan+0x0/0x1a0"
DEFERRED_SPLIT = "deferred_split_scan+0x0/0x2d0"


@dataclass
class Demand:
    """One reclaim call recorded in a trace: when, where and by whom."""

    ts: int
    cpu: int
    pid: int
    comm: str


@dataclass
class Kubepods(Generator):
    """Pods under /kubepods filled with anon and page cache; kubepods' limit set to its usage; then
    faults over the limit.  Shrinkers: deferred_split at boot, then ``shrinkers`` superblocks, of
    which the last ``churned`` were unregistered again (pod churn)."""

    kind: ClassVar[str] = "kubepods"
    doc: ClassVar[str] = "the notes' incident: pods filling a kubepods limit, ~600 shrinker bits each"
    memcgs: int = 500  # memcgs under the reclaim root, itself included (M)
    shrinkers: int = 600  # registered memcg-aware shrinkers (S_reg): deferred_split + superblocks
    churned: int = 41  # shrinkers of pods that came and went: their ids were the high-water mark
    # pods holding most of the page cache, on node 0: inactive file pages of each (a list of S pages
    # is scanned S >> priority at a time, so 3000 pages show up from priority 11 on, 600 only at 9)
    big_pods: list[int] = field(default_factory=lambda: [3_000, 1_100, 1_100, 600])
    pod_file_pages: int = 16  # every pod, on every node
    pod_anon_pages: int = 40
    mapped_share: float = 0.3  # of a big pod's cache: mapped and young (kept or activated when met)
    trigger_pid: int = 16737  # the notes' 372 sample: bash-16737 on CPU 10
    trigger_comm: str = "bash"
    trigger_cpu: int = 10
    trigger_faults: int = 1
    trigger_gap: int = 10_000_000
    start: int = 0
    demands: list[Demand] = field(default_factory=list)
    _tasks: dict[tuple[int, str], int] = field(default_factory=dict)
    _file: int = 0

    def slab_history(self) -> SlabHistory:
        h = SlabHistory()
        h.register(ShrinkerSpec(DEFERRED_SPLIT, nonslab=True, empty_is_shrink_empty=False))
        h.register(ShrinkerSpec(SUPER), self.shrinkers - 1 + self.churned)
        h.unregister(SUPER, self.churned)
        return h

    def setup(self, b: Builder) -> None:
        pods = self.memcgs - 1
        b.memcg("/kubepods")
        for p in range(pods):
            b.memcg(f"/kubepods/pod{p}")
        triggers = {(d.pid, d.comm) for d in self.demands} or {(self.trigger_pid, self.trigger_comm)}
        extra = max(len(self.demands), self.trigger_faults)
        self._tasks = {}
        for p in range(pods):
            self._tasks[(20_000 + p, "app")] = b.task("app", f"/kubepods/pod{p}", self.pod_anon_pages, pid=20_000 + p)
        for pid, comm in sorted(triggers):
            self._tasks[(pid, comm)] = b.task(comm, "/kubepods/pod0", extra, pid=pid)
        self._file = b.files(self.file_pages_needed(b.machine.nodes))
        b.slab.steps.extend(self.slab_history().steps)

    def events(self, sim: Any) -> Rows:
        nodes, cpn = sim.machine.nodes, sim.machine.cpus_per_node
        pods = self.memcgs - 1
        ncpu = nodes * cpn
        rows: Rows = []
        t = self.start
        fid = self._file
        charged = 0
        for p in range(pods):
            task = self._tasks[(20_000 + p, "app")]
            rows.append((t, p % ncpu, task, OP_ANON_FAULT, _anon0(sim, task), self.pod_anon_pages, 0))
            charged += self.pod_anon_pages
            t += 10_000
            for nid in range(nodes):
                rows.append((t, nid * cpn, task, OP_FILE_READ, fid, self.pod_file_pages, 0))
                fid += self.pod_file_pages
                charged += self.pod_file_pages
                t += 10_000
        rng = np.random.default_rng(7)
        for b, size in enumerate(self.big_pods):
            task = self._tasks[(20_000 + 1 + b * (pods // max(1, len(self.big_pods))), "app")]
            rows.append((t, 0, task, OP_FILE_READ, fid, size, 0))
            charged += size
            t += 10_000
            for k in np.flatnonzero(rng.random(size) < self.mapped_share):
                rows.append((t, 0, task, OP_FILE_MAP, fid + int(k), 1, 1 << 8))
                t += 1_000
            fid += size
        kubepods = sim.layout.memcgs.index("/kubepods")
        t += 1_000_000
        rows.append((t, 0, self._tasks[(20_000, "app")], OP_MEMCG_SET_MAX, charged, 1, kubepods))
        t += 1_000_000
        if self.demands:
            # the recorded calls keep their spacing, shifted to start after the fill
            t0 = self.demands[0].ts
            used: dict[int, int] = {}
            for d in self.demands:
                task = self._tasks[(d.pid, d.comm)]
                k = used.get(task, 0)
                used[task] = k + 1
                rows.append((t + d.ts - t0, d.cpu % ncpu, task, OP_ANON_FAULT, _anon0(sim, task) + k, 1, 0))
        else:
            task = self._tasks[(self.trigger_pid, self.trigger_comm)]
            for k in range(self.trigger_faults):
                t += self.trigger_gap
                rows.append((t, self.trigger_cpu % ncpu, task, OP_ANON_FAULT, _anon0(sim, task) + k, 1, 0))
        return rows

    def file_pages_needed(self, nodes: int) -> int:
        return (self.memcgs - 1) * nodes * self.pod_file_pages + sum(self.big_pods)
