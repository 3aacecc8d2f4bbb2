"""Hierarchical page counters of memory cgroups (mm/page_counter.c): usage and limit per memcg,
charged along the path to the root; the memory counter, and on cgroup v1 the memsw (memory +
swap) counter.  Reclaim and OOM on a failed charge live in memcontrol."""

from __future__ import annotations

from .jit import jit
from .state import G_MEMSW, MC_FORCED, MC_MAX, MC_MEMSW, MC_MEMSW_MAX, MC_PARENT, MC_USAGE


@jit
def counter_try_charge(st, memcg, nr_pages, usage, limit):
    """Charge one counter (columns usage/limit) of memcg and its ancestors; on failure undo and
    return the memcg over its limit (the kernel's mem_over_limit), else -1."""
    m = memcg
    while m >= 0:
        if st.mc[m, usage] + nr_pages > st.mc[m, limit]:
            k = memcg
            while k != m:
                st.mc[k, usage] -= nr_pages
                k = st.mc[k, MC_PARENT]
            return m
        st.mc[m, usage] += nr_pages
        m = st.mc[m, MC_PARENT]
    return -1


@jit
def page_counter_try_charge(st, memcg, nr_pages):
    return counter_try_charge(st, memcg, nr_pages, MC_USAGE, MC_MAX)


@jit
def memsw_try_charge(st, memcg, nr_pages):
    """The v1 memsw counter (-1 when swap is not accounted)."""
    if not st.g[G_MEMSW]:
        return -1
    return counter_try_charge(st, memcg, nr_pages, MC_MEMSW, MC_MEMSW_MAX)


@jit
def memsw_charge(st, memcg, nr_pages):
    if st.g[G_MEMSW]:
        m = memcg
        while m >= 0:
            st.mc[m, MC_MEMSW] += nr_pages
            m = st.mc[m, MC_PARENT]


@jit
def memsw_uncharge(st, memcg, nr_pages):
    memsw_charge(st, memcg, -nr_pages)


@jit
def page_counter_charge(st, memcg, nr_pages):
    """Charge without a limit check (the root, or a force charge: counted where it overshoots)."""
    m = memcg
    while m >= 0:
        st.mc[m, MC_USAGE] += nr_pages
        if st.mc[m, MC_USAGE] > st.mc[m, MC_MAX]:
            st.mc[m, MC_FORCED] += nr_pages
        m = st.mc[m, MC_PARENT]


@jit
def page_counter_uncharge(st, memcg, nr_pages):
    m = memcg
    while m >= 0:
        st.mc[m, MC_USAGE] -= nr_pages
        m = st.mc[m, MC_PARENT]


@jit
def mem_cgroup_is_descendant(st, memcg, root):
    """memcg is root or below it."""
    m = memcg
    while m >= 0:
        if m == root:
            return True
        m = st.mc[m, MC_PARENT]
    return False


@jit
def mem_cgroup_margin(st, memcg):
    margin = st.mc[memcg, MC_MAX] - st.mc[memcg, MC_USAGE]
    if st.g[G_MEMSW]:
        margin = min(margin, st.mc[memcg, MC_MEMSW_MAX] - st.mc[memcg, MC_MEMSW])
    return max(margin, 0)
