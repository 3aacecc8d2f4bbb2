"""Node-level reclaim (mm/vmscan.c, spec §3.4-3.6): shrink_node with its memcg walk,
shrink_zones, do_try_to_free_pages and try_to_free_mem_cgroup_pages.

The walk is the heart of the incident: P147 shares a per-(root, node, priority) cursor and stops a
cgroup reclaim once its goal is met; P372 and P66 visit every memcg under the target on every
shrink_node.  Simulated time advances by the cost model of spec §7.6 as the work is done.
"""

from __future__ import annotations

from .jit import jit
from .memcg_protection import MEMCG_PROT_LOW, MEMCG_PROT_MIN, mem_cgroup_protected
from .params import (
    C_ITER,
    C_PROBE,
    C_VISIT,
    CHECK_INACTIVE_LIST_IS_LOW,
    SLAB_CREDIT_GLOBAL_ONLY,
    SW_INACTIVE_CHECK,
    SW_MEMCG_WALK,
    SW_SLAB_CREDIT,
    SW_THROTTLE,
    THROTTLE_CONGESTION_WAIT,
    WALK_FULL,
    WALK_JITTER_FACTOR,
    WALK_JITTER_P,
)
from .shrink_list import cgroup_reclaim, tick, writeback_throttling_sane
from .shrink_lruvec import prepare_scan_count, shrink_lruvec
from .shrinker import shrink_slab
from .state import (
    CPU_NODE,
    CPU_RECLAIM_END,
    CPU_RECLAIM_START,
    DEF_PRIORITY,
    G_CGROUP_V2,
    G_CTX_CPU,
    G_HZ,
    G_IO_HEAD,
    G_IO_TAIL,
    G_NOW,
    G_NR_NODES,
    G_STAP,
    G_THROTTLED_NS,
    LRUVEC_CONGESTED,
    LV_FLAGS,
    LV_REFAULTS,
    LV_WS_ACTIVATE,
    MAX_ZONES,
    MC_EVENTS_LOW,
    MC_LAST_SCANNED_NODE,
    MC_POS,
    MC_SUBTREE_END,
    N_FLAGS,
    N_KSWAPD_FAILURES,
    N_ZONE0,
    N_ZONES,
    PGDAT_CONGESTED,
    PGDAT_DIRTY,
    PGDAT_WRITEBACK,
    SC_CONCURRENT,
    SC_FORCE_DEACTIVATE,
    SC_GFP,
    SC_KSWAPD,
    SC_MAY_ENTER_FS,
    SC_MAY_SWAP,
    SC_MAY_UNMAP,
    SC_MAY_WRITEPAGE,
    SC_MEMCG_LOW_RECLAIM,
    SC_MEMCG_LOW_SKIPPED,
    SC_NODE,
    SC_NR_CONGESTED,
    SC_NR_DIRTY,
    SC_NR_FILE_TAKEN,
    SC_NR_IMMEDIATE,
    SC_NR_RECLAIMED,
    SC_NR_SCANNED,
    SC_NR_TAKEN,
    SC_NR_TO_RECLAIM,
    SC_NR_UNQUEUED_DIRTY,
    SC_NR_WRITEBACK,
    SC_ORDER,
    SC_PRIORITY,
    SC_RECLAIM_IDX,
    SC_SKIPPED_DEACTIVATE,
    SC_SLAB_NS,
    SC_TARGET,
    VM_ALLOCSTALL,
    Z_IDX,
    Z_MANAGED,
)
from .trace import (
    TP_STAP_SHRINK_NODE_BEGIN,
    TP_STAP_SHRINK_NODE_END,
    TP_STAP_TTFP_BEGIN,
    TP_STAP_TTFP_END,
    trace_mm_vmscan_throttled,
    trace_stap,
    trace_writeback_wait,
)
from .writeback import complete_io, prandom, wb_writeback

VMSCAN_THROTTLE_WRITEBACK, VMSCAN_THROTTLE_ISOLATED, VMSCAN_THROTTLE_NOPROGRESS, VMSCAN_THROTTLE_CONGESTED = 0, 1, 2, 3


@jit
def advance_to(st, t):
    """The running context sleeps until t: IO completes and the flusher works meanwhile."""
    if t > st.g[G_NOW]:
        st.g[G_THROTTLED_NS] += t - st.g[G_NOW]
        st.g[G_NOW] = t
    wb_writeback(st, st.g[G_NOW])
    complete_io(st, st.g[G_NOW])


@jit
def nth_writeback_completion(st, n):
    """Time at which n more writebacks have completed (merge of the two device rings), or -1."""
    cap = st.io_page.shape[1]
    i0 = st.g[G_IO_HEAD]
    i1 = st.g[G_IO_HEAD + 1]
    t = -1
    for _k in range(n):
        a = st.io_time[0, i0] if i0 != st.g[G_IO_TAIL] else -1
        b = st.io_time[1, i1] if i1 != st.g[G_IO_TAIL + 1] else -1
        if a < 0 and b < 0:
            return -1
        if b < 0 or (0 <= a <= b):
            t = a
            i0 = (i0 + 1) % cap
        else:
            t = b
            i1 = (i1 + 1) % cap
    return t


@jit
def congestion_wait(st, timeout_jiffies):
    """4.18 congestion_wait on blk-mq: sleeps the whole timeout [INF, spec §6.6]."""
    usec = timeout_jiffies * 1_000_000 // st.g[G_HZ]
    advance_to(st, st.g[G_NOW] + usec * 1000)
    trace_writeback_wait(st, False, usec, usec)


@jit
def wait_iff_congested(st, timeout_jiffies):
    """No bdi is ever congested in the model: returns at once, but the tracepoint still fires."""
    usec = timeout_jiffies * 1_000_000 // st.g[G_HZ]
    trace_writeback_wait(st, True, usec, 0)


@jit
def reclaim_throttle(st, nid, reason):
    """P66 mm/vmscan.c reclaim_throttle: WRITEBACK HZ/10 (woken after 32 pages completed),
    ISOLATED HZ/50, CONGESTED and NOPROGRESS one jiffy."""
    hz = st.g[G_HZ]
    if reason == VMSCAN_THROTTLE_WRITEBACK:
        timeout = hz // 10
    elif reason == VMSCAN_THROTTLE_ISOLATED:
        timeout = hz // 50
    else:
        timeout = 1
    usec = timeout * 1_000_000 // hz
    start = st.g[G_NOW]
    end = start + usec * 1000
    if reason == VMSCAN_THROTTLE_WRITEBACK:
        t = nth_writeback_completion(st, 32)
        if 0 <= t < end:
            end = max(t, start)
    advance_to(st, end)
    trace_mm_vmscan_throttled(st, nid, usec, (end - start) // 1000, reason)


@jit
def throttle_on_congestion(st, nid):
    if st.sw[SW_THROTTLE] == THROTTLE_CONGESTION_WAIT:
        wait_iff_congested(st, st.g[G_HZ] // 10)
    else:
        reclaim_throttle(st, nid, VMSCAN_THROTTLE_CONGESTED)


@jit
def visit_memcg(st, s, nid, root, memcg):
    """One (memcg, node) of the walk: protection, shrink_lruvec, shrink_slab.  Returns 1 if visited."""
    tick(st, st.cost[C_ITER] + st.cost[C_VISIT])
    prot = mem_cgroup_protected(st, root, memcg)
    if prot == MEMCG_PROT_MIN:
        return 0
    if prot == MEMCG_PROT_LOW:
        if not st.sc[s, SC_MEMCG_LOW_RECLAIM]:
            st.sc[s, SC_MEMCG_LOW_SKIPPED] = 1
            return 0
        st.mc[memcg, MC_EVENTS_LOW] += 1
    shrink_lruvec(st, s, memcg * st.g[G_NR_NODES] + nid)
    freed_pages = shrink_slab(st, s, nid, memcg)
    # slab pages come back through reclaim_state: P147/P372 always count them, P66 only for root reclaim
    if st.sw[SW_SLAB_CREDIT] != SLAB_CREDIT_GLOBAL_ONLY or not cgroup_reclaim(st, s):
        st.sc[s, SC_NR_RECLAIMED] += freed_pages
    return 1


@jit
def shrink_node_memcgs_full(st, s, nid, root):
    """P372/P66 shrink_node_memcgs: every memcg of the subtree, pre-order, zombies included."""
    for p in range(st.mc[root, MC_POS], st.mc[root, MC_SUBTREE_END]):
        visit_memcg(st, s, nid, root, st.mc_order[p])


@jit
def shrink_node_memcgs_cursor(st, s, nid, root):
    """P147: mem_cgroup_iter with a reclaim cookie.  The walk starts after the shared cursor of
    (root, node, priority), runs to the end of the tree (then the cursor resets) and, for cgroup
    reclaim, stops as soon as the whole call's goal is met (the cursor stays there)."""
    prio = st.sc[s, SC_PRIORITY]
    lo = st.mc[root, MC_POS]
    hi = st.mc[root, MC_SUBTREE_END]
    pos = st.mc_cursor[root, nid, prio]
    p = lo if pos < 0 else pos + 1
    if p >= hi:
        p = lo  # a walk that starts at the end wraps to the root (prev == NULL)
    while p < hi:
        visit_memcg(st, s, nid, root, st.mc_order[p])
        st.mc_cursor[root, nid, prio] = p
        if cgroup_reclaim(st, s) and st.sc[s, SC_NR_RECLAIMED] >= st.sc[s, SC_NR_TO_RECLAIM]:
            return
        p += 1
    st.mc_cursor[root, nid, prio] = -1


@jit
def shrink_node(st, s, nid):
    kswapd = st.sc[s, SC_KSWAPD] != 0
    target = st.sc[s, SC_TARGET]
    root = target if target >= 0 else 0
    nn = st.g[G_NR_NODES]
    target_lv = root * nn + nid
    st.sc[s, SC_NODE] = nid
    stap = st.g[G_STAP] != 0 and not kswapd
    if stap:
        trace_stap(st, TP_STAP_SHRINK_NODE_BEGIN, st.sc[s, SC_PRIORITY], st.sc[s, SC_NR_SCANNED],
                   st.sc[s, SC_NR_RECLAIMED])
        tick(st, st.cost[C_PROBE])
    start = st.g[G_NOW]
    slab_start = st.sc[s, SC_SLAB_NS]
    wb_writeback(st, st.g[G_NOW])
    complete_io(st, st.g[G_NOW])
    for k in range(SC_NR_DIRTY, SC_NR_FILE_TAKEN + 1):
        st.sc[s, k] = 0
    nr_reclaimed = st.sc[s, SC_NR_RECLAIMED]
    if st.sw[SW_INACTIVE_CHECK] != CHECK_INACTIVE_LIST_IS_LOW:
        prepare_scan_count(st, s, target_lv)
    walk_start = st.g[G_NOW]
    if st.sw[SW_MEMCG_WALK] == WALK_FULL:
        shrink_node_memcgs_full(st, s, nid, root)
    else:
        shrink_node_memcgs_cursor(st, s, nid, root)
    # cache-cold walks [INF, spec §7.6]: a walk sometimes costs walk_jitter_factor times as much,
    # every part of it (the notes' 29-49 ms outliers are slower in and out of shrink_slab)
    if st.cost[WALK_JITTER_P] > 0 and prandom(st) % 1_000_000 < int(st.cost[WALK_JITTER_P] * 1_000_000):
        extra = st.cost[WALK_JITTER_FACTOR] - 1.0
        tick(st, extra * (st.g[G_NOW] - walk_start))
        st.sc[s, SC_SLAB_NS] += int(extra * (st.sc[s, SC_SLAB_NS] - slab_start))
    if kswapd:
        if st.sc[s, SC_NR_WRITEBACK] and st.sc[s, SC_NR_WRITEBACK] == st.sc[s, SC_NR_TAKEN]:
            st.node[nid, N_FLAGS] |= PGDAT_WRITEBACK
        if st.sc[s, SC_NR_UNQUEUED_DIRTY] == st.sc[s, SC_NR_FILE_TAKEN]:
            st.node[nid, N_FLAGS] |= PGDAT_DIRTY
        if st.sc[s, SC_NR_IMMEDIATE]:
            if st.sw[SW_THROTTLE] == THROTTLE_CONGESTION_WAIT:
                congestion_wait(st, st.g[G_HZ] // 10)
            else:
                reclaim_throttle(st, nid, VMSCAN_THROTTLE_WRITEBACK)
    dirty_congested = st.sc[s, SC_NR_DIRTY] and st.sc[s, SC_NR_DIRTY] == st.sc[s, SC_NR_CONGESTED]
    if dirty_congested:
        if st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW:
            if kswapd:
                st.node[nid, N_FLAGS] |= PGDAT_CONGESTED
            elif cgroup_reclaim(st, s) and st.g[G_CGROUP_V2]:
                st.lv[target_lv, LV_FLAGS] |= LRUVEC_CONGESTED
        elif kswapd or (cgroup_reclaim(st, s) and writeback_throttling_sane(st, s)):
            st.lv[target_lv, LV_FLAGS] |= LRUVEC_CONGESTED
    if not kswapd:
        congested = (st.lv[target_lv, LV_FLAGS] & LRUVEC_CONGESTED) != 0
        if st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW:
            congested = congested or (st.node[nid, N_FLAGS] & PGDAT_CONGESTED) != 0
        if congested:
            throttle_on_congestion(st, nid)
    if st.sc[s, SC_NR_RECLAIMED] > nr_reclaimed:
        st.node[nid, N_KSWAPD_FAILURES] = 0
    if stap:
        trace_stap(st, TP_STAP_SHRINK_NODE_END, st.g[G_NOW] - start, st.sc[s, SC_SLAB_NS] - slab_start, 0)


@jit
def node_in_range(st, nid, reclaim_idx):
    for i in range(st.node[nid, N_ZONES]):
        z = st.node[nid, N_ZONE0] + i
        if st.zone[z, Z_IDX] <= reclaim_idx and st.zone[z, Z_MANAGED] > 0:
            return True
    return False


@jit
def first_node(st, s):
    """Where the zonelist starts: P147 memcg reclaim round-robins over the memcg's nodes
    (mem_cgroup_select_victim_node); everything else starts at the current CPU's node."""
    nn = st.g[G_NR_NODES]
    target = st.sc[s, SC_TARGET]
    if target >= 0 and st.sw[SW_MEMCG_WALK] != WALK_FULL:
        node = (st.mc[target, MC_LAST_SCANNED_NODE] + 1) % nn
        st.mc[target, MC_LAST_SCANNED_NODE] = node
        return node
    return st.cpu[st.g[G_CTX_CPU], CPU_NODE]


@jit
def shrink_zones(st, s, first):
    nn = st.g[G_NR_NODES]
    reclaim_idx = min(st.sc[s, SC_RECLAIM_IDX], MAX_ZONES - 1)
    for step in range(nn):
        nid = (first + step) % nn
        if node_in_range(st, nid, reclaim_idx):
            shrink_node(st, s, nid)


@jit
def snapshot_refaults(st, s, nid):
    """Remember WORKINGSET_ACTIVATE so the next reclaim sees only new refaults.  P147 walks every
    memcg under the target (an extra subtree walk); P372/P66 snapshot the target lruvec only."""
    nn = st.g[G_NR_NODES]
    target = st.sc[s, SC_TARGET]
    root = target if target >= 0 else 0
    if st.sw[SW_INACTIVE_CHECK] == CHECK_INACTIVE_LIST_IS_LOW:
        for p in range(st.mc[root, MC_POS], st.mc[root, MC_SUBTREE_END]):
            lv = st.mc_order[p] * nn + nid
            st.lv[lv, LV_REFAULTS + 1] = st.lv[lv, LV_WS_ACTIVATE + 1]
            tick(st, st.cost[C_ITER])
    else:
        lv = root * nn + nid
        st.lv[lv, LV_REFAULTS] = st.lv[lv, LV_WS_ACTIVATE]
        st.lv[lv, LV_REFAULTS + 1] = st.lv[lv, LV_WS_ACTIVATE + 1]
        st.lv[lv, LV_FLAGS] &= ~LRUVEC_CONGESTED


@jit
def do_try_to_free_pages(st, s):
    """Priorities 12..0 over the zonelist, then the retries with force_deactivate and
    memcg_low_reclaim (spec §3.4).  Returns pages reclaimed (0 if none)."""
    nn = st.g[G_NR_NODES]
    first = first_node(st, s)
    stap = st.g[G_STAP] != 0
    if stap:
        trace_stap(st, TP_STAP_TTFP_BEGIN, 0, 0, 0)
        tick(st, st.cost[C_PROBE])
    start = st.g[G_NOW]
    st.sc[s, SC_SLAB_NS] = 0
    # reclaimers already running on other CPUs contend on shrinker_rwsem [SIM, spec §7.6]: the model
    # runs calls one after the other, so a call sees the ones that started before it and still run
    cpu = st.g[G_CTX_CPU]
    concurrent = 1
    for c in range(st.cpu.shape[0]):
        if c != cpu and st.cpu[c, CPU_RECLAIM_START] <= start < st.cpu[c, CPU_RECLAIM_END]:
            concurrent += 1
    st.sc[s, SC_CONCURRENT] = concurrent
    if not cgroup_reclaim(st, s):
        st.vmstat[first, VM_ALLOCSTALL] += 1
    while True:
        st.sc[s, SC_PRIORITY] = DEF_PRIORITY
        while True:
            st.sc[s, SC_NR_SCANNED] = 0
            shrink_zones(st, s, first)
            if st.sc[s, SC_NR_RECLAIMED] >= st.sc[s, SC_NR_TO_RECLAIM]:
                break
            if st.sc[s, SC_PRIORITY] < DEF_PRIORITY - 2:
                st.sc[s, SC_MAY_WRITEPAGE] = 1
            if st.sc[s, SC_PRIORITY] == 0:
                break
            st.sc[s, SC_PRIORITY] -= 1
        reclaim_idx = min(st.sc[s, SC_RECLAIM_IDX], MAX_ZONES - 1)
        for step in range(nn):
            nid = (first + step) % nn
            if node_in_range(st, nid, reclaim_idx):
                snapshot_refaults(st, s, nid)
        if st.sc[s, SC_NR_RECLAIMED]:
            break
        if st.sc[s, SC_SKIPPED_DEACTIVATE] and st.sw[SW_INACTIVE_CHECK] != CHECK_INACTIVE_LIST_IS_LOW:
            st.sc[s, SC_FORCE_DEACTIVATE] = 1
            st.sc[s, SC_SKIPPED_DEACTIVATE] = 0
            continue
        if st.sc[s, SC_MEMCG_LOW_SKIPPED]:
            st.sc[s, SC_FORCE_DEACTIVATE] = 0
            st.sc[s, SC_MEMCG_LOW_RECLAIM] = 1
            st.sc[s, SC_MEMCG_LOW_SKIPPED] = 0
            continue
        break
    st.cpu[cpu, CPU_RECLAIM_START] = start
    st.cpu[cpu, CPU_RECLAIM_END] = st.g[G_NOW]
    if stap:
        trace_stap(st, TP_STAP_TTFP_END, st.g[G_NOW] - start, st.sc[s, SC_SLAB_NS], 0)
    return st.sc[s, SC_NR_RECLAIMED]


@jit
def init_scan_control(st, s, nr_to_reclaim, gfp, order, reclaim_idx, target, may_swap):
    for k in range(st.sc.shape[1]):
        st.sc[s, k] = 0
    st.sc[s, SC_NR_TO_RECLAIM] = nr_to_reclaim
    st.sc[s, SC_GFP] = gfp
    st.sc[s, SC_ORDER] = order
    st.sc[s, SC_PRIORITY] = DEF_PRIORITY
    st.sc[s, SC_RECLAIM_IDX] = reclaim_idx
    st.sc[s, SC_MAY_WRITEPAGE] = 1
    st.sc[s, SC_MAY_UNMAP] = 1
    st.sc[s, SC_MAY_SWAP] = may_swap
    st.sc[s, SC_TARGET] = target
    st.sc[s, SC_MAY_ENTER_FS] = 1  # every modelled caller allocates with __GFP_FS
    st.sc[s, SC_KSWAPD] = 0
