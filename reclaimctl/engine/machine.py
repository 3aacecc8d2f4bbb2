"""Machine, memcg tree and tasks as plain data, and the construction of the model's state from them.

Zones are numbered as the platform numbers them (``zone_types``: x86_64 has DMA, DMA32, Normal,
Movable, Device; the RHEL 8 aarch64 build of the notes has three, so memcg reclaim prints
``classzone=2``).  Watermarks and lowmem_reserve are derived as mm/page_alloc.c does at boot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .page_alloc import (
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
    thp_min_free_kbytes,
)
from .params import encode
from .profiles import Profile
from .shrinker_registry import SlabHistory, build_shrinkers
from .state import (
    CPU_NODE,
    CPU_STOCK_MEMCG,
    CPUF,
    EVW,
    G_CGROUP_V2,
    G_CTX_KSWAPD,
    G_DEBUG,
    G_DIRTY_BG_RATIO,
    G_DIRTY_RATIO,
    G_FLUSHER_BW,
    G_GFP_ZONE_KERNEL,
    G_GFP_ZONE_MOVABLE,
    G_HZ,
    G_MEMSW,
    G_N,
    G_NR_CPUS,
    G_NR_NODES,
    G_NR_PAGES,
    G_NR_SHRINKERS,
    G_NR_ZONES,
    G_PAGE_SHIFT,
    G_RNG,
    G_SHRINKER_NR_MAX,
    G_STAP,
    G_SWAP_ERR_PPM,
    G_SWAP_TOTAL,
    G_SWAPPINESS,
    IN_FREE,
    IN_SLAB,
    LV_MEMCG,
    LV_NODE,
    LVF,
    MAX_ZONES,
    MC_ID,
    MC_LAST_SCANNED_NODE,
    MC_LOW,
    MC_MAX,
    MC_MEMSW_MAX,
    MC_MIN,
    MC_ONLINE,
    MC_PARENT,
    MC_POS,
    MC_SUBTREE_END,
    MC_SWAPPINESS,
    MCF,
    N_BAL_HZI,
    N_KSWAPD_CPU,
    N_KSWAPD_HZI,
    N_KSWAPD_TASK,
    N_SLAB_HEAD,
    N_SLAB_PAGES,
    N_ZONE0,
    N_ZONES,
    NF,
    NO_PAGE,
    NR_LRU_LISTS,
    PAGEVEC_SIZE,
    SCF,
    SCRW,
    SWAP_CLUSTER_MAX,
    T_ANON_HI,
    T_ANON_LO,
    T_KTHREAD,
    T_MEMCG,
    T_OOM_SCORE_ADJ,
    T_PID,
    TF,
    VM_N,
    Z_FREE,
    Z_FREE_HEAD,
    Z_IDX,
    Z_MANAGED,
    Z_NODE,
    Z_PFN_OFFSET,
    Z_RESERVE,
    Z_WMARK_HIGH,
    Z_WMARK_MIN,
    ZF,
    State,
)

X86_64_ZONES = ("DMA", "DMA32", "Normal", "Movable", "Device")
UNLIMITED = 1 << 62
PFN_BASE = 0x100000
KSWAPD_PID_BASE = 90


class MachineError(ValueError):
    """A machine, memcg or task description that cannot be built: one line for the user."""


@dataclass
class MachineSpec:
    nodes: int = 1
    node_pages: int = 262_144  # Normal zone pages per node
    dma32_pages: int = 0  # a DMA32 zone on node 0 (x86_64)
    zone_types: tuple[str, ...] = X86_64_ZONES
    page_size: int = 4096
    hz: int = 1000
    cpus_per_node: int = 2
    min_free_kbytes: int | None = None  # None: computed at boot
    watermark_scale_factor: int = 10
    thp_min_free: bool = False
    swap_pages: int = 0
    swap_error_rate: float = 0.0
    swappiness: int = 60
    cgroup_v2: bool = False
    dirty_ratio: int = 20
    dirty_background_ratio: int = 10
    writeback_pages_per_s: int = 25_600  # flusher bandwidth (100 MB/s of 4 KiB pages)

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    def zone_index(self, name: str) -> int:
        return self.zone_types.index(name)


@dataclass
class MemcgSpec:
    name: str  # path, e.g. "/kubepods/pod1"; "/" is the root
    max_pages: int | None = None
    swappiness: int = 60
    low_pages: int = 0
    min_pages: int = 0
    online: bool = True
    memsw_max_pages: int | None = None  # v1 memory.memsw.limit_in_bytes (memory + swap)


@dataclass
class TaskSpec:
    pid: int
    comm: str
    memcg: str = "/"
    anon_pages: int = 0  # size of the task's anon id range
    oom_score_adj: int = 0


@dataclass
class Layout:
    """What the Python side needs to read the state back: memcg names, and each task's pid and comm."""

    memcgs: list[str]
    pids: np.ndarray
    comms: list[str]
    shrinkers: tuple[str, ...] = ()


def _preorder(parent: list[int]) -> tuple[list[int], list[int]]:
    """Pre-order of the memcg tree (children in creation order) and, per memcg, the position just
    after its subtree."""
    children: dict[int, list[int]] = {i: [] for i in range(len(parent))}
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    order: list[int] = []
    end = [0] * len(parent)

    def visit(m: int) -> None:
        order.append(m)
        for c in children[m]:
            visit(c)
        end[m] = len(order)

    visit(0)
    return order, end


def _memcg_tree(memcgs: list[MemcgSpec], swappiness: int) -> tuple[list[str], list[int], list[MemcgSpec]]:
    specs = {"/": MemcgSpec("/", swappiness=swappiness)}
    for m in memcgs:
        name = "/" + m.name.strip("/") if m.name.strip("/") else "/"
        if name in specs and name != "/":
            raise MachineError(f"memcg {name} is declared twice")
        specs[name] = MemcgSpec(name, m.max_pages, m.swappiness, m.low_pages, m.min_pages, m.online, m.memsw_max_pages)
    # implicit parents, parents before children
    for name in list(specs):
        parts = name.strip("/").split("/")
        for k in range(1, len(parts)):
            p = "/" + "/".join(parts[:k])
            specs.setdefault(p, MemcgSpec(p, swappiness=swappiness))
    names = sorted(specs, key=lambda n: (n.count("/") if n != "/" else 0, list(specs).index(n)))
    index = {n: i for i, n in enumerate(names)}
    parent = []
    for n in names:
        if n == "/":
            parent.append(-1)
        else:
            p = n.rsplit("/", 1)[0] or "/"
            parent.append(index[p])
    return names, parent, [specs[n] for n in names]


def build_state(machine: MachineSpec, profile: Profile, memcgs: list[MemcgSpec], tasks: list[TaskSpec],
                nr_file: int, seed: int = 1, debug: int = 0, stap: bool = True,
                ev_capacity: int = 1 << 19, slab: SlabHistory | None = None) -> tuple[State, Layout]:
    if machine.nodes < 1 or machine.node_pages < SWAP_CLUSTER_MAX:
        raise MachineError("machine: need at least one node of at least 32 pages")
    if "Normal" not in machine.zone_types:
        raise MachineError("machine.zone_types must include Normal")
    if machine.page_size & (machine.page_size - 1) or machine.page_size < 4096:
        raise MachineError(f"machine.page_size: expected a power of two >= 4096, got {machine.page_size}")
    if machine.hz < 1:
        raise MachineError(f"machine.hz: expected at least 1, got {machine.hz}")
    top = profile.switches["swappiness_max"]
    for where, value in [("machine.swappiness", machine.swappiness),
                         *((f"memcg {m.name}: swappiness", m.swappiness) for m in memcgs)]:
        if not 0 <= value <= top:
            raise MachineError(f"{where}: expected 0..{top} on {profile.name}, got {value}")
    sw, cost = encode(profile)
    nn = machine.nodes
    normal = machine.zone_index("Normal")
    movable = machine.zone_index("Movable") if "Movable" in machine.zone_types else normal
    # zones: (node, type index, pages)
    zones: list[tuple[int, int, int]] = []
    for nid in range(nn):
        if nid == 0 and machine.dma32_pages:
            zones.append((0, machine.zone_index("DMA32"), machine.dma32_pages))
        zones.append((nid, normal, machine.node_pages))
    npages = sum(z[2] for z in zones)
    managed = [z[2] for z in zones]
    clamp = profile.switches["min_free_kbytes_max"]
    if machine.min_free_kbytes is not None:
        mfk = machine.min_free_kbytes
    else:
        mfk = calculate_min_free_kbytes(sum(managed), machine.page_shift, clamp)
        if machine.thp_min_free:
            pageblock = (2 << 20) // machine.page_size if machine.page_shift == 12 else (512 << 20) // machine.page_size
            mfk = max(mfk, thp_min_free_kbytes(len(zones), pageblock, sum(managed), machine.page_shift))
    wmarks = setup_per_zone_wmarks(managed, mfk, machine.page_shift, machine.watermark_scale_factor)

    zone = np.zeros((len(zones), ZF), np.int64)
    node = np.zeros((nn, NF), np.int64)
    pg_zone = np.zeros(npages, np.int16)
    pg_lru = np.full(npages, IN_FREE, np.int8)
    pg_next = np.full(npages, -1, np.int32)
    first = 0
    for z, (nid, zi, pages) in enumerate(zones):
        zone[z, Z_NODE] = nid
        zone[z, Z_IDX] = zi
        zone[z, Z_MANAGED] = pages
        zone[z, Z_FREE] = pages
        zone[z, Z_WMARK_MIN:Z_WMARK_HIGH + 1] = wmarks[z]
        zone[z, Z_FREE_HEAD] = first
        zone[z, Z_PFN_OFFSET] = PFN_BASE
        pg_zone[first:first + pages] = z
        pg_next[first:first + pages - 1] = np.arange(first + 1, first + pages, dtype=np.int32)
        first += pages
    for nid in range(nn):
        zs = [z for z in range(len(zones)) if zones[z][0] == nid]
        node[nid, N_ZONE0] = zs[0]
        node[nid, N_ZONES] = len(zs)
        reserve = setup_per_zone_lowmem_reserve([zones[z][1] for z in zs], [zones[z][2] for z in zs])
        for k, z in enumerate(zs):
            zone[z, Z_RESERVE:Z_RESERVE + MAX_ZONES] = reserve[k]
        node[nid, N_KSWAPD_HZI] = -1
        node[nid, N_BAL_HZI] = len(machine.zone_types) - 1

    names, parent, specs = _memcg_tree(memcgs, machine.swappiness)
    nm = len(names)
    index = {n: i for i, n in enumerate(names)}
    mc = np.zeros((nm, MCF), np.int64)
    order, subtree_end = _preorder(parent)
    pos = {m: k for k, m in enumerate(order)}
    for m, spec in enumerate(specs):
        mc[m, MC_PARENT] = parent[m]
        mc[m, MC_MAX] = UNLIMITED if spec.max_pages is None else spec.max_pages
        mc[m, MC_MEMSW_MAX] = UNLIMITED if spec.memsw_max_pages is None else spec.memsw_max_pages
        mc[m, MC_SWAPPINESS] = spec.swappiness
        mc[m, MC_LOW] = spec.low_pages
        mc[m, MC_MIN] = spec.min_pages
        mc[m, MC_ONLINE] = 1 if spec.online else 0
        mc[m, MC_ID] = m
        mc[m, MC_POS] = pos[m]
        mc[m, MC_LAST_SCANNED_NODE] = nn - 1
    mc[:, MC_SUBTREE_END] = subtree_end
    try:
        shrinkers = build_shrinkers(slab or SlabHistory(), names, [s.online for s in specs], nn,
                                    bool(profile.switches["kmem"]))
    except ValueError as e:
        raise MachineError(str(e)) from None
    # slab pages come off the top of each node's last (Normal) zone free list
    for nid in range(nn):
        want = int(shrinkers.slab_pages[nid])
        if not want:
            node[nid, N_SLAB_HEAD] = -1
            continue
        z = int(node[nid, N_ZONE0] + node[nid, N_ZONES] - 1)
        if want > zone[z, Z_FREE] // 2:
            raise MachineError(f"shrinker objects need {want} slab pages on node {nid}, more than half of its "
                               f"{int(zone[z, Z_FREE])} pages")
        head = int(zone[z, Z_FREE_HEAD])
        node[nid, N_SLAB_HEAD] = head
        node[nid, N_SLAB_PAGES] = want
        pg_next[head + want - 1] = -1
        zone[z, Z_FREE_HEAD] = head + want
        zone[z, Z_FREE] -= want
        pg_lru[head:head + want] = IN_SLAB
    lv = np.zeros((nm * nn, LVF), np.int64)
    lv[:, LV_MEMCG] = np.repeat(np.arange(nm), nn)
    lv[:, LV_NODE] = np.tile(np.arange(nn), nm)

    ncpu = nn * machine.cpus_per_node
    cpu = np.zeros((ncpu, CPUF), np.int64)
    cpu[:, CPU_NODE] = np.arange(ncpu) // machine.cpus_per_node
    cpu[:, CPU_STOCK_MEMCG] = -1

    all_tasks = list(tasks) + [TaskSpec(KSWAPD_PID_BASE + nid, f"kswapd{nid}") for nid in range(nn)]
    task = np.zeros((len(all_tasks), TF), np.int64)
    next_aid = 0
    for t, spec in enumerate(all_tasks):
        if spec.memcg not in index and "/" + spec.memcg.strip("/") not in index:
            raise MachineError(f"task {spec.comm}-{spec.pid}: no memcg {spec.memcg!r}")
        task[t, T_PID] = spec.pid
        task[t, T_MEMCG] = index.get(spec.memcg, index.get("/" + spec.memcg.strip("/"), 0))
        task[t, T_ANON_LO] = next_aid
        next_aid += spec.anon_pages
        task[t, T_ANON_HI] = next_aid
        task[t, T_OOM_SCORE_ADJ] = spec.oom_score_adj
    for nid in range(nn):
        t = len(tasks) + nid
        task[t, T_KTHREAD] = 1
        node[nid, N_KSWAPD_TASK] = t
        node[nid, N_KSWAPD_CPU] = nid * machine.cpus_per_node

    g = np.zeros(G_N, np.int64)
    g[G_CTX_KSWAPD] = -1
    g[G_NR_NODES] = nn
    g[G_NR_ZONES] = len(machine.zone_types)
    g[G_PAGE_SHIFT] = machine.page_shift
    g[G_HZ] = machine.hz
    g[G_SWAPPINESS] = machine.swappiness
    g[G_SWAP_TOTAL] = machine.swap_pages
    g[G_SWAP_ERR_PPM] = int(round(machine.swap_error_rate * 1_000_000))
    g[G_RNG] = (seed * 0x9E3779B97F4A7C15 + 1) & 0x7FFFFFFFFFFFFFFF or 1
    g[G_DEBUG] = debug
    g[G_CGROUP_V2] = 1 if machine.cgroup_v2 else 0
    g[G_MEMSW] = 0 if machine.cgroup_v2 else 1  # v1 with swap accounting (RHEL 8 default)
    g[G_DIRTY_BG_RATIO] = machine.dirty_background_ratio
    g[G_DIRTY_RATIO] = machine.dirty_ratio
    g[G_FLUSHER_BW] = machine.writeback_pages_per_s
    g[G_NR_PAGES] = npages
    g[G_GFP_ZONE_MOVABLE] = movable
    g[G_GFP_ZONE_KERNEL] = normal
    g[G_NR_CPUS] = ncpu
    g[G_STAP] = 1 if stap else 0
    g[G_SHRINKER_NR_MAX] = shrinkers.nr_max
    g[G_NR_SHRINKERS] = shrinkers.nr_registered

    st = State(
        g=g, sw=sw, cost=cost,
        pg_flags=np.zeros(npages, np.uint32), pg_prev=np.full(npages, -1, np.int32), pg_next=pg_next,
        pg_lv=np.zeros(npages, np.int32), pg_zone=pg_zone, pg_lru=pg_lru,
        pg_map=np.zeros(npages, np.int16), pg_key=np.full(npages, -1, np.int64),
        zone=zone, node=node, vmstat=np.zeros((nn, VM_N), np.int64),
        lv=lv, lru_head=np.full(nm * nn * NR_LRU_LISTS, -1, np.int32),
        lru_tail=np.full(nm * nn * NR_LRU_LISTS, -1, np.int32),
        lru_zcnt=np.zeros((nm * nn * NR_LRU_LISTS, MAX_ZONES), np.int64),
        mc=mc, mc_order=np.array(order, np.int32), mcstat=np.zeros((nm, VM_N), np.int64),
        mc_cursor=np.full((nm, nn, 13), -1, np.int32),
        cpu=cpu, cpu_batch=np.zeros((ncpu, 2, PAGEVEC_SIZE + 1), np.int32),
        task=task,
        anon_map=np.full(max(next_aid, 1), NO_PAGE, np.int32), anon_shadow=np.zeros(max(next_aid, 1), np.int64),
        file_map=np.full(max(nr_file, 1), NO_PAGE, np.int32), file_shadow=np.zeros(max(nr_file, 1), np.int64),
        io_page=np.zeros((2, npages + 1), np.int32), io_time=np.zeros((2, npages + 1), np.int64),
        flushq=np.zeros(npages + 1, np.int32),
        sc=np.zeros((1 + nn, SCF), np.int64), iso=np.zeros((1 + nn, 64), np.int32),
        scratch=np.zeros((1 + nn, SCRW), np.int64),
        ev=np.zeros((ev_capacity, EVW), np.int64),
        shr=shrinkers.shr, shr_list=shrinkers.shr_list, shr_idr=shrinkers.shr_idr, shr_objs=shrinkers.shr_objs,
        shr_deferred=shrinkers.shr_deferred, mc_map=shrinkers.mc_map, mc_deferred=shrinkers.mc_deferred,
        dbg_seen=np.zeros(npages, np.int8), dbg_owned=np.zeros(nm, np.int64),
    )
    layout = Layout(names, task[:, T_PID].copy(), [t.comm for t in all_tasks], shrinkers.names)
    return st, layout

