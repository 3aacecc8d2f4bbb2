"""The model's state: struct-of-arrays in numpy, one namedtuple the jitted code takes whole.

Entities and their arrays (columns of the 2-D ones are the constants below):

* pages: ``pg_*`` 1-D arrays, 32 bytes a page (flags, LRU links, lruvec, zone, list, mapcount, key);
* zones ``zone[z, Z_*]``, nodes ``node[n, N_*]``, per-node /proc/vmstat ``vmstat[n, VM_*]``;
* lruvecs, one per (memcg, node): ``lv[l, LV_*]``, ``l = memcg * nr_nodes + node``; their five lists
  ``lru_head/lru_tail[l * 5 + lru]`` with per-zone sizes ``lru_zcnt[l * 5 + lru, zone index in node]``;
* memcgs ``mc[m, MC_*]`` (root is 0) and their stats ``mcstat[m, VM_*]``; ``mc_order`` is the pre-order;
  ``mc_cursor[root, node, priority]`` the P147 shared reclaim iterator position;
* CPUs ``cpu[c, CPU_*]`` with their LRU add / activate batches ``cpu_batch[c, kind, i]``;
* tasks ``task[t, T_*]`` (kswapd threads are tasks too);
* objects the workload names: anon pages ``anon_map[aid]`` and file pages ``file_map[fid]`` (page
  index, ``NO_PAGE`` or ``SWAPPED``) with their shadow entries;
* writeback: completion rings ``io_page/io_time[ring]`` (swap, file) and the flusher queue;
* reclaim: ``sc[ctx, SC_*]`` (row 0 direct/memcg reclaim, row 1 + nid kswapd), ``iso[ctx]`` scratch;
* trace buffer ``ev[row, EV_*]`` and globals ``g[G_*]``.
"""

from __future__ import annotations

from collections import namedtuple

from numba.core import cgutils, types
from numba.core.datamodel import models, register_default
from numba.core.extending import NativeValue, box, unbox
from numba.experimental import structref

# ---------------------------------------------------------------- kernel constants (spec §1)
SWAP_CLUSTER_MAX = 32
DEF_PRIORITY = 12
MAX_RECLAIM_RETRIES = 16
PAGE_ALLOC_COSTLY_ORDER = 3
PAGEVEC_SIZE = 15
MAX_ZONES = 5  # DMA, DMA32, NORMAL, MOVABLE, DEVICE
ZONE_NAMES = ("DMA", "DMA32", "Normal", "Movable", "Device")

# ---------------------------------------------------------------- page flags (pg_flags bits)
PG_LRU = 1 << 0
PG_ACTIVE = 1 << 1
PG_REFERENCED = 1 << 2
PG_WORKINGSET = 1 << 3
PG_DIRTY = 1 << 4
PG_WRITEBACK = 1 << 5
PG_RECLAIM = 1 << 6
PG_SWAPBACKED = 1 << 7
PG_SWAPCACHE = 1 << 8
PG_UNEVICTABLE = 1 << 9
PG_MLOCKED = 1 << 10
PG_ERROR = 1 << 11
PG_YOUNG = 1 << 12  # model: some PTE mapping the page has its accessed bit set
PG_EXEC = 1 << 13  # model: mapped by a VM_EXEC vma
PG_ANON = 1 << 14  # model: pg_key is an anon id (else a file page id)
PG_FLUSHQ = 1 << 15  # model: queued for the flusher

# LRU lists and the other places a page can be (pg_lru)
LRU_INACTIVE_ANON = 0
LRU_ACTIVE_ANON = 1
LRU_INACTIVE_FILE = 2
LRU_ACTIVE_FILE = 3
LRU_UNEVICTABLE = 4
NR_LRU_LISTS = 5
IN_FREE = 5
IN_BATCH = 6
IN_ISOLATED = 7
IN_NONE = 8  # allocated, not yet handed to the LRU (inside a fault)
IN_SLAB = 9  # a slab page holding shrinkable objects (node's slab stack, linked through pg_next)
LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")

NO_PAGE = -1
SWAPPED = -2  # anon_map: content is in a swap slot

# ---------------------------------------------------------------- globals g[]
G_NOW = 0  # clock of the running context (ns)
G_CTX_CPU = 1
G_CTX_TASK = 2
G_CTX_KSWAPD = 3  # node whose kswapd runs, or -1
G_NR_NODES = 4
G_NR_ZONES = 5  # zones per node (MAX_NR_ZONES of the platform)
G_PAGE_SHIFT = 6
G_HZ = 7
G_SWAPPINESS = 8  # vm.swappiness
G_SWAP_TOTAL = 9
G_SWAP_USED = 10
G_SWAP_ERR_PPM = 11  # swap write error probability, parts per million
G_EV_N = 12
G_EV_LOST = 13
G_RNG = 14
G_DEBUG = 15
G_CGROUP_V2 = 16
G_IO_HEAD = 17  # +ring: 17, 18
G_IO_TAIL = 19  # +ring: 19, 20
G_FQ_HEAD = 21
G_FQ_TAIL = 22
G_FQ_LEN = 23
G_NR_DIRTY = 24
G_NR_WRITEBACK = 25
G_DIRTY_BG_THRESH = 26  # pages (computed from ratio at build; refreshed by balance_dirty_pages)
G_DIRTY_THRESH = 27
G_FLUSHER_BW = 28  # pages per second
G_FLUSHER_CLOCK = 29
G_FLUSHER_WOKEN = 30
G_DIRTY_EXPIRE = 31
G_NR_PAGES = 32
G_OOM_KILLS = 33
G_GFP_ZONE_MOVABLE = 34  # zone index used by GFP_HIGHUSER_MOVABLE
G_GFP_ZONE_KERNEL = 35
G_STEP = 36  # workload events done
G_DIRTY_BG_RATIO = 37
G_DIRTY_RATIO = 38
G_NR_CPUS = 40
G_LAST_OOM_VICTIM = 41
G_THROTTLED_NS = 42
G_STAP = 44  # also emit the events of the notes' systemtap script
G_SHRINKER_NR_MAX = 45  # highest memcg-aware shrinker id ever allocated + 1 (never shrinks)
G_NR_SHRINKERS = 46  # registered shrinkers, in registration order in shr_list[0:n]
G_MEMSW = 47  # v1 swap accounting (do_memsw_account): the memsw counters are kept
G_N = 48

# ---------------------------------------------------------------- zone[z, ...]
Z_NODE = 0
Z_IDX = 1  # zone type index (0 DMA .. 4 DEVICE) = index inside the node
Z_MANAGED = 2
Z_FREE = 3
Z_WMARK_MIN = 4
Z_WMARK_LOW = 5
Z_WMARK_HIGH = 6
Z_BOOST = 7
Z_FREE_HEAD = 8  # free list head (page index or -1), linked through pg_next
Z_PFN_OFFSET = 9  # pfn = page index + this
Z_RESERVE = 10  # lowmem_reserve[0..MAX_ZONES)
Z_NR_LRU = 15  # +lru: pages of the zone on each list (zone_page_state NR_ZONE_*)
Z_WRITE_PENDING = 20  # dirty + writeback file pages of the zone
ZF = 21

# ---------------------------------------------------------------- node[n, ...]
N_ZONE0 = 0  # first global zone index of the node; zones of a node are consecutive
N_KSWAPD_ORDER = 1
N_KSWAPD_HZI = 2  # kswapd_highest_zoneidx; -1 = unset
N_KSWAPD_FAILURES = 3
N_KSWAPD_STATE = 4
N_KSWAPD_CLOCK = 5
N_FLAGS = 6
N_ISOLATED_ANON = 7
N_ISOLATED_FILE = 8
N_KSWAPD_TASK = 9
N_KSWAPD_CPU = 10
N_NAP_UNTIL = 11
N_BAL_ORDER = 12  # balance_pgdat in progress: order, highest zone, priority, boost, reclaimed at entry
N_BAL_HZI = 13
N_BAL_PRIORITY = 14
N_BAL_BOOST = 15
N_PFMEMALLOC_WAITERS = 17
N_ZONES = 18  # zones present
N_NR_LRU = 19  # +lru: node totals of the five lists (node_page_state NR_*_ANON/FILE)
N_SLAB_HEAD = 24  # first page of the node's slab stack (-1 = none)
N_SLAB_PAGES = 25  # pages on it
NF = 26

# kswapd states
KSWAPD_SLEEPING = 0
KSWAPD_RUNNING = 1  # inside balance_pgdat, between priority rounds
KSWAPD_NAPPING = 2  # the HZ/10 nap of kswapd_try_to_sleep

# node flags
PGDAT_DIRTY = 1
PGDAT_WRITEBACK = 2
PGDAT_CONGESTED = 4

# ---------------------------------------------------------------- lruvec lv[l, ...]
LV_NR = 0  # +lru: pages on each of the five lists (all zones)
LV_RECENT_SCANNED = 5  # +type (0 anon, 1 file)    P147
LV_RECENT_ROTATED = 7  # +type                      P147
LV_ANON_COST = 9  # P372/P66
LV_FILE_COST = 10
LV_NONRESIDENT_AGE = 11  # workingset clock (P147 inactive_age)
LV_REFAULTS = 12  # +type: snapshot of WORKINGSET_ACTIVATE (P147 uses the file slot)
LV_FLAGS = 14
LV_MEMCG = 16
LV_NODE = 17
LV_WS_ACTIVATE = 18  # +type: WORKINGSET_ACTIVATE of this lruvec and its descendants (lruvec_page_state)
LVF = 20
LRUVEC_CONGESTED = 1

# ---------------------------------------------------------------- memcg mc[m, ...]
MC_PARENT = 0
MC_USAGE = 1
MC_MAX = 2
MC_SWAPPINESS = 3
MC_LOW = 4
MC_MIN = 5
MC_ONLINE = 6
MC_EMIN = 7
MC_ELOW = 8
MC_SUBTREE_END = 9  # position in mc_order after the last descendant
MC_POS = 10  # position in mc_order
MC_ID = 11
MC_LAST_SCANNED_NODE = 12  # P147 mem_cgroup_select_victim_node round robin
MC_EVENTS_LOW = 13  # MEMCG_LOW events
MC_EVENTS_MAX = 14
MC_EVENTS_OOM_KILL = 15
MC_FORCED = 16  # pages charged past the limit here or below (force charge, a failed v2 memory.max write)
MC_MEMSW = 17  # v1 memory+swap usage (memsw page counter): pages charged + swapped-out entries
MC_MEMSW_MAX = 18  # memory.memsw.limit_in_bytes
MCF = 19

# ---------------------------------------------------------------- cpu[c, ...] and batches
CPU_NODE = 0
CPU_BUSY = 1  # clock until which the CPU is busy with earlier work
CPU_NR = 2  # +kind: pages in each batch
CPU_STOCK_MEMCG = 4  # per-CPU memcg charge stock (memcg_stock_pcp)
CPU_STOCK_NR = 5
CPU_RECLAIM_START = 6  # the last reclaim call on this CPU ran [start, end): concurrent reclaimers
CPU_RECLAIM_END = 7
CPUF = 8
BATCH_LRU_ADD = 0
BATCH_ACTIVATE = 1

# ---------------------------------------------------------------- task[t, ...]
T_PID = 0
T_MEMCG = 1
T_RSS_ANON = 2
T_RSS_FILE = 3
T_SWAPENTS = 4
T_KILLED = 5
T_ANON_LO = 6  # the task's anon ids are [lo, hi)
T_ANON_HI = 7
T_OOM_SCORE_ADJ = 8
T_KTHREAD = 9
TF = 10

# ---------------------------------------------------------------- /proc/vmstat items (vmstat[n, ...], mcstat[m, ...])
VMSTAT_NAMES = (
    "pgalloc", "pgfree", "pgactivate", "pgdeactivate", "pgrefill",
    "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
    "pgscan_anon", "pgscan_file", "pgsteal_anon", "pgsteal_file",
    "pswpin", "pswpout", "pgmajfault", "allocstall", "kswapd_low_wmark_hit_quickly",
    "kswapd_high_wmark_hit_quickly", "pageoutrun", "nr_vmscan_write", "nr_vmscan_immediate_reclaim",
    "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon",
    "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file",
    "workingset_nodereclaim", "oom_kill", "pgrotated", "nr_written", "nr_dirtied", "swap_write_errors",
    "drop_slab", "slabs_scanned", "pglazyfreed", "pgmemcg_reclaim",
)
VM_PGALLOC, VM_PGFREE, VM_PGACTIVATE, VM_PGDEACTIVATE, VM_PGREFILL = 0, 1, 2, 3, 4
VM_PGSCAN_KSWAPD, VM_PGSCAN_DIRECT, VM_PGSTEAL_KSWAPD, VM_PGSTEAL_DIRECT = 5, 6, 7, 8
VM_PGSCAN_ANON, VM_PGSCAN_FILE, VM_PGSTEAL_ANON, VM_PGSTEAL_FILE = 9, 10, 11, 12
VM_PSWPIN, VM_PSWPOUT, VM_PGMAJFAULT, VM_ALLOCSTALL = 13, 14, 15, 16
VM_KSWAPD_LOW_WMARK_HIT_QUICKLY, VM_KSWAPD_HIGH_WMARK_HIT_QUICKLY, VM_PAGEOUTRUN = 17, 18, 19
VM_NR_VMSCAN_WRITE, VM_NR_VMSCAN_IMMEDIATE = 20, 21
VM_WORKINGSET_REFAULT, VM_WORKINGSET_ACTIVATE, VM_WORKINGSET_RESTORE = 22, 24, 26  # +type
VM_WORKINGSET_NODERECLAIM, VM_OOM_KILL, VM_PGROTATED, VM_NR_WRITTEN, VM_NR_DIRTIED = 28, 29, 30, 31, 32
VM_SWAP_WRITE_ERRORS = 33
VM_SLABS_SCANNED = 35
VM_N = len(VMSTAT_NAMES)

# ---------------------------------------------------------------- scan_control sc[ctx, ...]
SC_NR_TO_RECLAIM = 0
SC_GFP = 1  # index into trace.GFP_NAMES
SC_ORDER = 2
SC_PRIORITY = 3
SC_RECLAIM_IDX = 4
SC_MAY_WRITEPAGE = 5
SC_MAY_UNMAP = 6
SC_MAY_SWAP = 7
SC_TARGET = 8  # target memcg, -1 = global reclaim
SC_NR_SCANNED = 9
SC_NR_RECLAIMED = 10
SC_MEMCG_LOW_RECLAIM = 11
SC_MEMCG_LOW_SKIPPED = 12
SC_KSWAPD = 13  # 1 for kswapd's scan_control
SC_NR_DIRTY = 14
SC_NR_UNQUEUED_DIRTY = 15
SC_NR_CONGESTED = 16
SC_NR_WRITEBACK = 17
SC_NR_IMMEDIATE = 18
SC_NR_TAKEN = 19
SC_NR_FILE_TAKEN = 20
SC_ANON_COST = 21
SC_FILE_COST = 22
SC_MAY_DEACTIVATE = 23  # bit 0 anon, bit 1 file
SC_FORCE_DEACTIVATE = 24
SC_SKIPPED_DEACTIVATE = 25
SC_CACHE_TRIM_MODE = 26
SC_FILE_IS_TINY = 27
SC_MAY_ENTER_FS = 28  # gfp has __GFP_FS (all modelled callers do)
SC_NODE = 29  # node being shrunk
SC_SLAB_NS = 30  # ns spent in shrink_slab (stap emulation)
SC_COMPACTION_READY = 31
SC_CONCURRENT = 32  # reclaimers running when this call started, itself included (shrinker_rwsem contention)
SC_SLAB_PAGES = 33  # slab pages shrinkers gave back during this call (reclaim_state->reclaimed_slab)
SCF = 34
DEACTIVATE_ANON = 1
DEACTIVATE_FILE = 2

# scratch[ctx, ...]
SCR_NR = 0  # get_scan_count's nr[4]
SCR_TARGETS = 4  # shrink_lruvec's targets[4]
SCR_STAT = 8  # shrink_page_list's stat (12)
SCR_ZCOUNT = 20  # invariant check: per-zone counts (5)
SCRW = 32

# ---------------------------------------------------------------- shrinkers shr[i, ...] (spec §2.7, §7)
SH_FLAGS = 0  # SHRINKER_* below
SH_ID = 1  # IDR id of a memcg-aware shrinker, else -1
SH_SEEKS = 2
SH_BATCH = 3  # 0 = SHRINK_BATCH
SH_FREE_PPM = 4  # objects freed per million scanned
SH_OBJS_PER_PAGE = 5
SH_EMPTY = 6  # count_objects of nothing: 1 = SHRINK_EMPTY (list_lru users), 0 = plain 0 (deferred_split)
SH_PTR = 7  # the struct shrinker address the tracepoints print
SH_FREED_REM = 8  # objects freed not yet amounting to a whole page
SH_REGISTERED = 9
SH_NAME = 10  # index into the names the tracepoints print
SHF = 11
SHRINKER_NUMA_AWARE = 1
SHRINKER_MEMCG_AWARE = 2
SHRINKER_NONSLAB = 4
SHRINK_EMPTY = -2  # (~0UL - 1) as a return value: the memcg has no objects of this shrinker
SHRINK_STOP = -1
SHRINK_BATCH = 128
DEFAULT_SEEKS = 2

# ---------------------------------------------------------------- trace buffer ev[row, ...]
EV_ID = 0
EV_TS = 1
EV_CPU = 2
EV_TASK = 3
EV_F0 = 4  # payload fields f0..
EV_NF = 14
EVW = EV_F0 + EV_NF

State = namedtuple(
    "State",
    [
        "g", "sw", "cost",
        "pg_flags", "pg_prev", "pg_next", "pg_lv", "pg_zone", "pg_lru", "pg_map", "pg_key",
        "zone", "node", "vmstat",
        "lv", "lru_head", "lru_tail", "lru_zcnt",
        "mc", "mc_order", "mcstat", "mc_cursor",
        "cpu", "cpu_batch",
        "task",
        "anon_map", "anon_shadow", "file_map", "file_shadow",
        "io_page", "io_time", "flushq",
        "sc", "iso", "scratch",
        "ev",
        "shr", "shr_list", "shr_idr", "shr_objs", "shr_deferred", "mc_map", "mc_deferred",
        "dbg_seen", "dbg_owned",
    ],
)



class StateArray(types.Array):
    """The numba type of the state's arrays: an array the jitted code does not reference-count.

    The arrays belong to the Python side (:class:`State`, kept by whoever built the StateRef) and
    reach the engine with no meminfo, so a reference count would have nothing to count: the
    model below has no members to traverse, and numba emits no NRT_incref/NRT_decref for them
    (they were a third of the engine's run time).  Views and copies are ordinary arrays."""

    def __init__(self, dtype, ndim, layout):  # type: ignore[no-untyped-def]
        super().__init__(dtype, ndim, layout, name=f"state_array({dtype}, {ndim}d, {layout})")

    def copy(self, dtype=None, ndim=None, layout=None, readonly=None):  # type: ignore[no-untyped-def]
        return types.Array(self.dtype if dtype is None else dtype, self.ndim if ndim is None else ndim,
                           self.layout if layout is None else layout, readonly=bool(readonly))


@register_default(StateArray)
class StateArrayModel(models.ArrayModel):
    def traverse(self, builder):  # type: ignore[no-untyped-def]
        return []  # no meminfo to count (see StateArray)


@structref.register
class StateType(types.StructRef):
    """The numba type of :class:`StateRef`: one pointer to the same arrays as :class:`State`.

    Jitted code takes the state by reference: passing the 40 arrays of a namedtuple as separate
    arguments made every call site hundreds of values wide and the first compilation minutes long.
    Like its arrays, it is not reference-counted inside jitted code: the Simulation holds it."""

    def preprocess_fields(self, fields):  # type: ignore[no-untyped-def]
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


@register_default(StateType)
class StateModel(models.StructRefModel):
    def traverse(self, builder):  # type: ignore[no-untyped-def]
        return []


class StateRef(structref.StructRefProxy):
    """What the jitted engine receives; ``api.new_state_ref(*state)`` builds it from a :class:`State`
    (and the Simulation hangs the arrays on it, so they live as long as it does)."""


structref.define_constructor(StateRef, StateType, list(State._fields))


@box(StateType)
def _box_state(typ, val, c):  # type: ignore[no-untyped-def]
    """A StateRef proxy owning the struct (numba's structref boxing)."""
    mip_type = types.MemInfoPointer(types.voidptr)
    meminfo = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=val).meminfo
    boxed = c.box(mip_type, meminfo)
    ctor = c.pyapi.unserialize(c.pyapi.serialize_object(StateRef._numba_box_))
    ty = c.pyapi.unserialize(c.pyapi.serialize_object(typ))
    res = c.pyapi.call_function_objargs(ctor, [ty, boxed])
    for obj in (ctor, ty, boxed):
        c.pyapi.decref(obj)
    return res


@unbox(StateType)
def _unbox_state(typ, obj, c):  # type: ignore[no-untyped-def]
    """Borrow the proxy's struct for the call: structref's own unboxing takes a reference that the
    call would release, but StateType is not reference-counted, so it would never be released."""
    mip_type = types.MemInfoPointer(types.voidptr)
    mi_obj = c.pyapi.object_getattr_string(obj, "_meminfo")
    meminfo = c.unbox(mip_type, mi_obj).value
    c.context.nrt.decref(c.builder, mip_type, meminfo)  # the proxy keeps its own reference
    c.pyapi.decref(mi_obj)
    ref = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    ref.meminfo = meminfo
    return NativeValue(ref._getvalue())

Workload = namedtuple("Workload", ["ts", "cpu", "task", "op", "obj", "count", "arg"])

# workload operations (Workload.op); ``count`` consecutive objects from ``obj``
OP_ANON_FAULT = 0  # write fault on an anon page: allocate, swap in, or dirty + young
OP_ANON_TOUCH = 1  # access through a mapping: young PTE (faults if not present)
OP_FILE_READ = 2  # read(): page cache lookup or read-in, mark_page_accessed
OP_FILE_WRITE = 3  # write(): page cache lookup or allocation, dirty (no mark_page_accessed)
OP_FILE_MAP = 4  # fault on a mapped file page (arg & ARG_EXEC: VM_EXEC mapping): map + young
OP_ANON_FREE = 5  # munmap: free the pages and swap slots of the range
OP_FILE_DELETE = 6  # truncate / unlink: drop page cache pages and their shadows
OP_TASK_EXIT = 7  # the task's anon memory goes away
OP_NOP = 8  # only advances time (lets kswapd and IO progress)
OP_MEMCG_SET_MAX = 9  # write memory.max: ``arg`` is the memcg, ``obj`` the new limit in pages
OP_NAMES = ("anon_fault", "anon_touch", "file_read", "file_write", "file_map", "anon_free", "file_delete",
            "task_exit", "nop", "memcg_set_max")
ARG_EXEC = 1
ARG_MLOCK = 2

# element access on StateArrays, typed and lowered without numba's general indexing (registered here,
# where StateArray is defined, so that it is in place before any engine function compiles)
from . import state_index  # noqa: E402,F401
