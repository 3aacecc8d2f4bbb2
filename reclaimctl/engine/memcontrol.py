"""The memcg charge path (mm/memcontrol.c try_charge, spec §3.2): per-CPU stock, batch, reclaim
of the memcg over its limit, the free retry after progress, the retry budget (5 on 147, 16
later), the one-time stock drain, and the memcg OOM kill."""

from __future__ import annotations

from .direct_reclaim import try_to_free_mem_cgroup_pages
from .jit import jit
from .oom_kill import out_of_memory
from .page_counter import (
    mem_cgroup_is_descendant,
    mem_cgroup_margin,
    memsw_charge,
    memsw_try_charge,
    memsw_uncharge,
    page_counter_charge,
    page_counter_try_charge,
    page_counter_uncharge,
)
from .params import SW_MEMCG_CHARGE_BATCH, SW_MEMCG_CHARGE_RETRIES
from .state import (
    CPU_STOCK_MEMCG,
    CPU_STOCK_NR,
    G_CGROUP_V2,
    G_CTX_CPU,
    G_CTX_TASK,
    MC_EVENTS_MAX,
    MC_FORCED,
    MC_MAX,
    MC_USAGE,
    PAGE_ALLOC_COSTLY_ORDER,
    T_KILLED,
)


@jit
def consume_stock(st, memcg, nr_pages):
    cpu = st.g[G_CTX_CPU]
    if st.cpu[cpu, CPU_STOCK_MEMCG] == memcg and st.cpu[cpu, CPU_STOCK_NR] >= nr_pages:
        st.cpu[cpu, CPU_STOCK_NR] -= nr_pages
        return True
    return False


@jit
def drain_stock(st, cpu):
    old = st.cpu[cpu, CPU_STOCK_MEMCG]
    if old >= 0 and st.cpu[cpu, CPU_STOCK_NR] > 0:
        page_counter_uncharge(st, old, st.cpu[cpu, CPU_STOCK_NR])
        memsw_uncharge(st, old, st.cpu[cpu, CPU_STOCK_NR])
    st.cpu[cpu, CPU_STOCK_NR] = 0
    st.cpu[cpu, CPU_STOCK_MEMCG] = -1


@jit
def refill_stock(st, memcg, nr_pages):
    cpu = st.g[G_CTX_CPU]
    if st.cpu[cpu, CPU_STOCK_MEMCG] != memcg:
        drain_stock(st, cpu)
        st.cpu[cpu, CPU_STOCK_MEMCG] = memcg
    st.cpu[cpu, CPU_STOCK_NR] += nr_pages


@jit
def drain_all_stock(st, root):
    for cpu in range(st.cpu.shape[0]):
        m = st.cpu[cpu, CPU_STOCK_MEMCG]
        if m >= 0 and mem_cgroup_is_descendant(st, m, root):
            drain_stock(st, cpu)


@jit
def force_charge(st, memcg, nr_pages):
    """Charge memory (and v1 memsw) without a limit check."""
    page_counter_charge(st, memcg, nr_pages)
    memsw_charge(st, memcg, nr_pages)


@jit
def try_charge(st, memcg, nr_pages):
    """Charge nr_pages to memcg; reclaims and OOM-kills as the kernel does.  Always ends charged
    (force charge when the task itself is the OOM victim or no victim is left)."""
    if memcg == 0:
        force_charge(st, 0, nr_pages)  # the root is never limited
        return
    batch = max(st.sw[SW_MEMCG_CHARGE_BATCH], nr_pages)
    retries = st.sw[SW_MEMCG_CHARGE_RETRIES]
    drained = False
    while True:
        if consume_stock(st, memcg, nr_pages):
            return
        # v1: memory+swap first; over that limit, reclaim may not swap (it would not help)
        may_swap = 1
        over = memsw_try_charge(st, memcg, batch)
        if over >= 0:
            may_swap = 0
        else:
            over = page_counter_try_charge(st, memcg, batch)
            if over < 0:
                if batch > nr_pages:
                    refill_stock(st, memcg, batch - nr_pages)
                return
            memsw_uncharge(st, memcg, batch)
        if batch > nr_pages:
            batch = nr_pages
            continue
        if st.task[st.g[G_CTX_TASK], T_KILLED]:
            break  # a dying task charges through
        st.mc[over, MC_EVENTS_MAX] += 1
        nr_reclaimed = try_to_free_mem_cgroup_pages(st, over, nr_pages, may_swap)
        if mem_cgroup_margin(st, over) >= nr_pages:
            continue
        if not drained:
            drain_all_stock(st, over)
            drained = True
            continue
        if nr_reclaimed and nr_pages <= (1 << PAGE_ALLOC_COSTLY_ORDER):
            continue
        if retries > 0:
            retries -= 1
            continue
        victim = out_of_memory(st, over)
        if victim >= 0 and not st.task[st.g[G_CTX_TASK], T_KILLED]:
            retries = st.sw[SW_MEMCG_CHARGE_RETRIES]
            continue
        break  # OOM failed or we are the victim: force the charge
    force_charge(st, memcg, nr_pages)


@jit
def mem_cgroup_resize_max(st, memcg, max_pages):
    """A write to the memcg's limit.  v1 memory.limit_in_bytes (4.18 mem_cgroup_resize_max): the limit
    is taken only once usage fits; until then stocks are drained once and the subtree reclaimed, and
    a reclaim that frees nothing fails the write (-EBUSY, old limit kept).  v2 memory.max
    (memory_max_write): the limit holds at once, then drain, then reclaim with the retry budget [the
    v2 OOM kill at the end is not modelled].  Returns True if usage fits the new limit."""
    v2 = st.g[G_CGROUP_V2] != 0
    if v2:
        st.mc[memcg, MC_MAX] = max_pages
    drained = False
    retries = st.sw[SW_MEMCG_CHARGE_RETRIES]
    while st.mc[memcg, MC_USAGE] > max_pages:
        if not drained:
            drain_all_stock(st, memcg)
            drained = True
            continue
        if retries == 0:
            st.mc[memcg, MC_FORCED] += st.mc[memcg, MC_USAGE] - max_pages  # v2: left over the new limit
            return False
        if not try_to_free_mem_cgroup_pages(st, memcg, 1, 1):
            if not v2:
                return False
            retries -= 1
    st.mc[memcg, MC_MAX] = max_pages
    return True
