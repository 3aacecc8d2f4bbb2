"""The shrinker registry and the per-memcg shrinker bitmaps, built from a registration history.

What a memcg's shrinker bitmap holds on the day of an incident depends on the order in which
shrinkers were registered and memcgs came online (spec §7.4), so a scenario describes that history
and :func:`build_shrinkers` replays it the way the kernel would (mm/vmscan.c of 4.18.0-147,
4.18.0-372 and v6.6 agree on all of this):

* ``register_shrinker`` of a memcg-aware shrinker takes the **lowest free IDR id**
  (prealloc_memcg_shrinker).  If ``round_up(id + 1, 64)`` exceeds the map size, every existing
  non-root memcg's map is reallocated on every node with **all bits of the old size set to 1** and the
  new tail zeroed (memcg_expand_one_shrinker_map / expand_one_shrinker_info: ``memset(map, 0xff,
  old_size)``); then ``shrinker_nr_max = id + 1``, which never shrinks.
* ``unregister_shrinker`` frees the id (the next registration may reuse it) and leaves every bit set;
  a walk that finds no shrinker behind a set bit clears it.
* A memcg that comes online gets zeroed maps of the current size (P372/P66 even under nokmem).
* ``list_lru_add`` of an object charged to a non-root memcg sets that memcg's bit on the object's
  node.  With kmem accounting off no slab object is charged: the objects are on the root's lists and
  set nothing.  NONSLAB shrinkers (THP deferred split) account user pages and set bits either way.

This runs once, in Python, when the machine is built: a run does not register shrinkers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .state import (
    DEFAULT_SEEKS,
    SH_BATCH,
    SH_EMPTY,
    SH_FLAGS,
    SH_FREE_PPM,
    SH_ID,
    SH_NAME,
    SH_OBJS_PER_PAGE,
    SH_PTR,
    SH_REGISTERED,
    SH_SEEKS,
    SHF,
    SHRINKER_MEMCG_AWARE,
    SHRINKER_NONSLAB,
    SHRINKER_NUMA_AWARE,
)

BITS = 64


@dataclass
class ShrinkerSpec:
    """One registered shrinker.  ``objects`` maps a memcg path ("/" = the root's lists) to the
    reclaimable objects it holds per node; a shrinker that is not NUMA-aware keeps them on node 0."""

    name: str = "super_cache_scan+0x0/0x1a0"  # the scan function as the tracepoints print it (%pS)
    memcg_aware: bool = True
    numa_aware: bool = True
    nonslab: bool = False  # SHRINKER_NONSLAB: deferred_split, the only one in 4.18.0-372
    seeks: int = DEFAULT_SEEKS
    batch: int = 0  # 0: SHRINK_BATCH (128)
    objects: dict[str, int] = field(default_factory=dict)
    free_ratio: float = 1.0  # objects freed per object scanned
    objs_per_page: int = 32  # slab objects per page (pages freed are credited to reclaim)
    empty_is_shrink_empty: bool = True  # list_lru users return SHRINK_EMPTY; deferred_split returns 0


@dataclass
class Step:
    """One step of the history: ``register`` (shrinker), ``unregister`` (shrinker name, the most recent
    registration of it), ``online`` (memcg path)."""

    op: str
    shrinker: ShrinkerSpec | None = None
    name: str = ""


@dataclass
class SlabHistory:
    """What happened before the workload starts.  Memcgs the history never brings online are online
    from the start (before any registration), in tree order."""

    steps: list[Step] = field(default_factory=list)

    def register(self, spec: ShrinkerSpec, count: int = 1) -> SlabHistory:
        for _ in range(count):
            self.steps.append(Step("register", spec))
        return self

    def unregister(self, name: str, count: int = 1) -> SlabHistory:
        for _ in range(count):
            self.steps.append(Step("unregister", name=name))
        return self

    def online(self, memcg: str) -> SlabHistory:
        self.steps.append(Step("online", name=memcg))
        return self


class RegistryError(ValueError):
    """A history that cannot happen (unregistering what is not registered, an unknown memcg)."""


@dataclass
class Shrinkers:
    """The registry's arrays for the state, and the names the tracepoints print."""

    shr: np.ndarray  # [S, SHF]
    shr_list: np.ndarray  # registered shrinkers in registration order (padded with -1)
    shr_idr: np.ndarray  # id -> shrinker index or -1
    shr_objs: np.ndarray  # [S, memcgs, nodes] objects
    shr_deferred: np.ndarray  # [S, nodes] the shrinker's own nr_deferred
    mc_map: np.ndarray  # [memcgs, nodes, words] bitmaps (int64 words)
    mc_deferred: np.ndarray  # [memcgs, nodes, ids] per-memcg nr_deferred (P372/P66)
    nr_max: int
    nr_registered: int
    names: tuple[str, ...]
    specs: list[ShrinkerSpec]
    slab_pages: np.ndarray  # [nodes] pages the objects occupy


def _bit(b: int) -> np.int64:
    """Bit b of a 64-bit word, as the int64 the maps are stored in."""
    return np.int64((1 << b) - (1 << 64 if b == 63 else 0))


def _pointer(i: int) -> int:
    """A hashed-looking %p value for shrinker i (the kernel hashes pointers since 4.15)."""
    return ((i + 1) * 0x9E3779B1) & 0xFFFFFFFF


def build_shrinkers(history: SlabHistory, memcg_names: Sequence[str], online: Sequence[bool], nr_nodes: int,
                    kmem: bool) -> Shrinkers:
    index = {n: i for i, n in enumerate(memcg_names)}
    nm = len(memcg_names)
    regs = [s.shrinker for s in history.steps if s.op == "register"]
    specs: list[ShrinkerSpec] = [s for s in regs if s is not None]
    nshr = max(len(specs), 1)
    cap_ids = max(BITS, -(-len(specs) // BITS) * BITS + BITS)
    words = cap_ids // BITS
    shr = np.zeros((nshr, SHF), np.int64)
    shr[:, SH_ID] = -1
    idr = np.full(cap_ids, -1, np.int32)
    mc_map = np.zeros((nm, nr_nodes, words), np.int64)
    names: list[str] = []
    alive: list[int] = []  # registration order
    by_name: dict[str, list[int]] = {}
    is_online = np.zeros(nm, bool)
    is_online[0] = True
    explicit = {s.name if s.name == "/" else "/" + s.name.strip("/") for s in history.steps if s.op == "online"}
    for m, name in enumerate(memcg_names):
        if name not in explicit:
            is_online[m] = True
    nr_max = 0
    map_bits = 0  # bits of the maps allocated so far (a multiple of 64)
    k = 0
    for step in history.steps:
        if step.op == "online":
            key = step.name if step.name == "/" else "/" + step.name.strip("/")
            if key not in index:
                raise RegistryError(f"slab history: no memcg {step.name!r}")
            is_online[index[key]] = True  # its maps start zeroed, sized for the current nr_max
        elif step.op == "register":
            spec = step.shrinker
            assert spec is not None
            i = k
            k += 1
            if spec.name not in names:
                names.append(spec.name)
            flags = ((SHRINKER_NUMA_AWARE if spec.numa_aware else 0) | (SHRINKER_MEMCG_AWARE if spec.memcg_aware else 0)
                     | (SHRINKER_NONSLAB if spec.nonslab else 0))
            shr[i, SH_FLAGS] = flags
            shr[i, SH_SEEKS] = spec.seeks
            shr[i, SH_BATCH] = spec.batch
            shr[i, SH_FREE_PPM] = int(round(spec.free_ratio * 1_000_000))
            shr[i, SH_OBJS_PER_PAGE] = max(1, spec.objs_per_page)
            shr[i, SH_EMPTY] = 1 if spec.empty_is_shrink_empty else 0
            shr[i, SH_PTR] = _pointer(i)
            shr[i, SH_NAME] = names.index(spec.name)
            shr[i, SH_REGISTERED] = 1
            if spec.memcg_aware:
                sid = int(np.flatnonzero(idr < 0)[0])  # lowest free id
                idr[sid] = i
                shr[i, SH_ID] = sid
                if sid >= nr_max:
                    new_bits = -(-(sid + 1) // BITS) * BITS
                    if new_bits > map_bits:
                        # expansion: every existing non-root memcg gets the old bits all set
                        old_words = map_bits // BITS
                        existing = np.flatnonzero(is_online)
                        existing = existing[existing != 0]
                        mc_map[existing, :, :old_words] = -1
                        map_bits = new_bits
                    nr_max = sid + 1
            alive.append(i)
            by_name.setdefault(spec.name, []).append(i)
        elif step.op == "unregister":
            live = [i for i in by_name.get(step.name, []) if shr[i, SH_REGISTERED]]
            if not live:
                raise RegistryError(f"slab history: unregister {step.name!r}, which is not registered")
            i = live[-1]
            shr[i, SH_REGISTERED] = 0
            alive.remove(i)
            if shr[i, SH_ID] >= 0:
                idr[shr[i, SH_ID]] = -1  # the id is free again; the bits stay set
        else:
            raise RegistryError(f"slab history: unknown step {step.op!r}")

    # objects: where they sit, and the bits list_lru_add sets
    shr_objs = np.zeros((nshr, nm, nr_nodes), np.int64)
    slab_pages = np.zeros(nr_nodes, np.int64)
    for i, spec in enumerate(specs):
        if not shr[i, SH_REGISTERED]:
            continue
        for path, per_node in spec.objects.items():
            key = path if path == "/" else "/" + path.strip("/")
            if key not in index:
                raise RegistryError(f"shrinker {spec.name}: no memcg {path!r}")
            m = index[key]
            charged = spec.memcg_aware and m != 0 and (kmem or spec.nonslab)
            target = m if charged else 0  # uncharged objects live on the root's lists
            nodes = range(nr_nodes) if spec.numa_aware else range(1)
            for nid in nodes:
                shr_objs[i, target, nid] += per_node
                if charged and per_node > 0:
                    mc_map[m, nid, shr[i, SH_ID] // BITS] |= _bit(int(shr[i, SH_ID]) % BITS)
        if not spec.nonslab:
            per_node_total = shr_objs[i].sum(axis=0)
            slab_pages += -(-per_node_total // max(1, spec.objs_per_page))
    shr_list = np.full(nshr, -1, np.int32)
    shr_list[:len(alive)] = alive
    return Shrinkers(
        shr=shr, shr_list=shr_list, shr_idr=idr, shr_objs=shr_objs,
        shr_deferred=np.zeros((nshr, nr_nodes), np.int64), mc_map=mc_map,
        mc_deferred=np.zeros((nm, nr_nodes, cap_ids), np.int64), nr_max=nr_max, nr_registered=len(alive),
        names=tuple(names), specs=specs, slab_pages=slab_pages,
    )


def set_bits(mc_map: np.ndarray, memcg: int, nid: int | None = None) -> int:
    """Set bits of one memcg (all nodes by default), for inspection."""
    row = mc_map[memcg] if nid is None else mc_map[memcg, nid]
    return int(sum(bin(int(w) & 0xFFFFFFFFFFFFFFFF).count("1") for w in np.ravel(row)))
