"""memory.min / memory.low: effective protection and the skip decision (mm/memcontrol.c,
spec §3.7).  Computed during the pre-order walk, so a parent's effective values are ready before
its children are visited."""

from __future__ import annotations

from .jit import jit
from .state import MC_ELOW, MC_EMIN, MC_LOW, MC_MIN, MC_PARENT, MC_USAGE

MEMCG_PROT_NONE, MEMCG_PROT_LOW, MEMCG_PROT_MIN = 0, 1, 2


@jit
def _siblings_protected_usage(st, parent, col):
    total = 0
    for m in range(st.mc.shape[0]):
        if st.mc[m, MC_PARENT] == parent:
            total += min(st.mc[m, MC_USAGE], st.mc[m, col])
    return total


@jit
def _effective(st, memcg, parent, col, ecol):
    setting = st.mc[memcg, col]
    parent_e = st.mc[parent, ecol]
    e = min(setting, parent_e)
    if e == 0:
        return 0
    siblings = _siblings_protected_usage(st, parent, col)
    if siblings > parent_e:
        e = min(e, parent_e * min(st.mc[memcg, MC_USAGE], setting) // max(siblings, 1))
    return e


@jit
def mem_cgroup_calculate_protection(st, root, memcg):
    """Set emin/elow of memcg for a reclaim rooted at ``root`` (the root and its ancestors are
    unprotected; a child of the root gets its own settings; deeper ones are capped by and scaled
    within their parent's effective values)."""
    if memcg == root:
        st.mc[memcg, MC_EMIN] = 0
        st.mc[memcg, MC_ELOW] = 0
        return
    parent = st.mc[memcg, MC_PARENT]
    if parent == root:
        st.mc[memcg, MC_EMIN] = st.mc[memcg, MC_MIN]
        st.mc[memcg, MC_ELOW] = st.mc[memcg, MC_LOW]
        return
    st.mc[memcg, MC_EMIN] = _effective(st, memcg, parent, MC_MIN, MC_EMIN)
    st.mc[memcg, MC_ELOW] = _effective(st, memcg, parent, MC_LOW, MC_ELOW)


@jit
def mem_cgroup_protected(st, root, memcg):
    """NONE, LOW (skip unless memcg_low_reclaim) or MIN (never reclaimed)."""
    mem_cgroup_calculate_protection(st, root, memcg)
    usage = st.mc[memcg, MC_USAGE]
    emin = st.mc[memcg, MC_EMIN]
    elow = st.mc[memcg, MC_ELOW]
    if emin and usage <= emin:
        return MEMCG_PROT_MIN
    if elow and usage <= elow:
        return MEMCG_PROT_LOW
    return MEMCG_PROT_NONE
