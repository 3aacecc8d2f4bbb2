"""The incident of the notes as a scenario: a Kubernetes node whose ``kubepods`` memcg hits its limit.

Spec §10 V4/V5 and §7.6: 8 NUMA nodes of 64 KiB pages (aarch64, HZ=100, three zones), a kubepods
tree of 500 memcgs, no swap, a page cache that is small and partly referenced (a few pods hold
most of it, on node 0), anonymous memory filling the rest of the limit, and ~600 memcg-aware
shrinkers registered after the pods came online, so every pod memcg's shrinker bitmap has ~600 bits
set.  With ``cgroup.memory=nokmem`` (``--set kmem=off``) those bits are what 4.18.0-372 walks.

Nothing here states an outcome: the episode's length, the slab share and the priority descent come
out of the engine's control flow and the profile's cost parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.api import Simulation, workload
from ..engine.machine import MachineSpec, MemcgSpec, TaskSpec
from ..engine.profiles import Profile, override
from ..engine.shrinker_registry import ShrinkerSpec, SlabHistory
from ..engine.state import (
    OP_ANON_FAULT,
    OP_FILE_MAP,
    OP_FILE_READ,
    OP_MEMCG_SET_MAX,
    T_ANON_LO,
    Workload,
)

AARCH64_ZONES = ("DMA32", "Normal", "Movable")  # MAX_NR_ZONES = 3: the notes' traces print classzone=2


@dataclass
class Kubepods:
    """Parameters of the incident scenario (defaults: spec §7.6 calibration)."""

    memcgs: int = 500  # memcgs under the reclaim root, itself included (M)
    nodes: int = 8
    node_pages: int = 32_768  # 2 GiB of 64 KiB pages per node
    page_size: int = 65_536
    hz: int = 100
    cpus_per_node: int = 2
    shrinkers: int = 600  # registered memcg-aware shrinkers (S_reg): superblocks, shadow nodes
    churned: int = 41  # shrinkers of pods that came and went: their ids were the high-water mark
    # pods holding most of the page cache, on node 0: inactive file pages of each (a list of S pages
    # is scanned S >> priority at a time, so 4600 pages show up from priority 12 on, 600 only at 9)
    big_pod_file_pages: tuple[int, ...] = (4_600, 1_100, 1_100, 600, 600)
    pod_file_pages: int = 16  # every pod, on every node
    pod_anon_pages: int = 40
    mapped_share: float = 0.3  # of a big pod's cache: mapped and young (kept or activated when met)
    trigger_pid: int = 16737  # the notes' 372 sample: bash-16737 on CPU 10
    trigger_comm: str = "bash"
    trigger_cpu: int = 10
    swap_pages: int = 0
    trigger_faults: int = 1  # faults over the limit, one every trigger_gap_ns
    trigger_gap_ns: int = 10_000_000
    # Cost calibration of this machine [SIM, spec §7.6]: the notes' 372 shrink_node calls took
    # 16.5-19.5 ms with 12.2-12.8 ms in shrink_slab, so ~4.5 ms per walk of 500 memcgs is the rest:
    # 9 us per visited memcg, cache-cold on 8 nodes (spec: c_visit scales with nodes and memcgs).
    costs: tuple[str, ...] = ("c_visit=8000",)

    def slab_history(self) -> SlabHistory:
        """deferred_split at boot (NONSLAB), pods online, then the pods' mounts register superblock
        shrinkers; the last ``churned`` ids are freed again (their bits stay set until visited)."""
        h = SlabHistory()
        h.register(ShrinkerSpec("deferred_split_scan+0x0/0x2d0", nonslab=True, empty_is_shrink_empty=False))
        h.register(ShrinkerSpec("super_cache_scan+0x0/0x1a0"), self.shrinkers - 1 + self.churned)
        h.unregister("super_cache_scan+0x0/0x1a0", self.churned)
        return h

    def simulation(self, profile: Profile, seed: int = 1, debug: int = 0, stap: bool = True) -> Simulation:
        """The machine under ``profile`` (the scenario's cost calibration applied first, so that the
        profile's own overrides win)."""
        pods = self.memcgs - 1
        own = [c for c in self.costs if c.split("=")[0] not in {o.split("=")[0] for o in profile.overrides}]
        profile = override(profile, own) if own else profile
        machine = MachineSpec(nodes=self.nodes, node_pages=self.node_pages, zone_types=AARCH64_ZONES,
                              page_size=self.page_size, hz=self.hz, cpus_per_node=self.cpus_per_node,
                              swap_pages=self.swap_pages)
        memcgs = [MemcgSpec("/kubepods")] + [MemcgSpec(f"/kubepods/pod{p}") for p in range(pods)]
        tasks = [TaskSpec(self.trigger_pid, self.trigger_comm, "/kubepods/pod0",
                          anon_pages=self.pod_anon_pages + self.trigger_faults)]
        tasks += [TaskSpec(20_000 + p, "app", f"/kubepods/pod{p}", anon_pages=self.pod_anon_pages)
                  for p in range(1, pods)]
        return Simulation(machine, profile, memcgs, tasks, file_pages=self._file_pages(), seed=seed, debug=debug,
                          stap=stap, source="scenario:kubepods", slab=self.slab_history(),
                          ev_capacity=1 << 20)

    def _file_pages(self) -> int:
        pods = self.memcgs - 1
        return pods * self.nodes * self.pod_file_pages + sum(self.big_pod_file_pages)

    def workload(self, sim: Simulation) -> Workload:
        """Fill the pods, set kubepods' limit to its usage, then one fault over the limit."""
        pods = self.memcgs - 1
        ncpu = self.nodes * self.cpus_per_node
        rows: list[tuple[int, int, int, int, int, int, int]] = []  # ts, cpu, task, op, obj, count, arg
        t = 0
        fid = 0
        charged = 0
        anon0 = sim.state.task[:, T_ANON_LO]  # anon ids are global: each task owns a range
        for p in range(pods):
            rows.append((t, p % ncpu, p, OP_ANON_FAULT, int(anon0[p]), self.pod_anon_pages, 0))
            charged += self.pod_anon_pages
            t += 10_000
            for nid in range(self.nodes):
                rows.append((t, nid * self.cpus_per_node, p, OP_FILE_READ, fid, self.pod_file_pages, 0))
                fid += self.pod_file_pages
                charged += self.pod_file_pages
                t += 10_000
        rng = np.random.default_rng(7)
        nbig = len(self.big_pod_file_pages)
        for b, size in enumerate(self.big_pod_file_pages):
            p = 1 + b * (pods // max(1, nbig))
            rows.append((t, 0, p, OP_FILE_READ, fid, size, 0))
            charged += size
            t += 10_000
            for k in np.flatnonzero(rng.random(size) < self.mapped_share):
                rows.append((t, 0, p, OP_FILE_MAP, fid + int(k), 1, 1 << 8))
                t += 1_000
            fid += size
        kubepods = sim.layout.memcgs.index("/kubepods")
        t += 1_000_000
        rows.append((t, 0, 0, OP_MEMCG_SET_MAX, charged, 1, kubepods))
        for k in range(self.trigger_faults):
            t += self.trigger_gap_ns
            rows.append((t, self.trigger_cpu, 0, OP_ANON_FAULT, int(anon0[0]) + self.pod_anon_pages + k, 1, 0))
        ts, cpu, task, op, obj, count, arg = (np.array(c) for c in zip(*rows, strict=True))
        return workload(ts, cpu, task, op, obj, count, arg)
