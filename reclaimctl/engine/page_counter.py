"""Hierarchical page counters of memory cgroups (mm/page_counter.c): usage and limit per memcg,
charged along the path to the root.  Reclaim and OOM on a failed charge live in memcontrol."""

from __future__ import annotations

from .jit import jit
from .state import MC_FORCED, MC_MAX, MC_PARENT, MC_USAGE


@jit
def page_counter_try_charge(st, memcg, nr_pages):
    """Charge memcg and its ancestors; on failure undo and return the memcg over its limit (the
    kernel's mem_over_limit), else -1."""
    m = memcg
    while m >= 0:
        if st.mc[m, MC_USAGE] + nr_pages > st.mc[m, MC_MAX]:
            k = memcg
            while k != m:
                st.mc[k, MC_USAGE] -= nr_pages
                k = st.mc[k, MC_PARENT]
            return m
        st.mc[m, MC_USAGE] += nr_pages
        m = st.mc[m, MC_PARENT]
    return -1


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
    return st.mc[memcg, MC_MAX] - st.mc[memcg, MC_USAGE]
