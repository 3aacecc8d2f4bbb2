"""The OOM killer (mm/oom_kill.c): pick the task with the largest footprint in the constrained
domain (the whole machine, or a memcg subtree) and tear its anonymous memory down at once
[SIM: the scenario's teardown delay is 0]."""

from __future__ import annotations

from .jit import jit
from .page_counter import mem_cgroup_is_descendant
from .state import (
    G_LAST_OOM_VICTIM,
    G_OOM_KILLS,
    MC_EVENTS_OOM_KILL,
    MC_PARENT,
    SWAPPED,
    T_ANON_HI,
    T_ANON_LO,
    T_KILLED,
    T_KTHREAD,
    T_MEMCG,
    T_OOM_SCORE_ADJ,
    T_PID,
    VM_OOM_KILL,
)
from .trace import trace_mark_victim
from .truncate import exit_mmap


@jit
def oom_badness(st, t):
    """rss + swap entries (+ oom_score_adj scaled to the domain as points)."""
    points = 0
    for aid in range(st.task[t, T_ANON_LO], st.task[t, T_ANON_HI]):
        v = st.anon_map[aid]
        if v >= 0 and st.pg_map[v] > 0 or v == SWAPPED:
            points += 1
    return points + st.task[t, T_OOM_SCORE_ADJ] * max(points, 1) // 1000


@jit
def select_bad_process(st, root):
    """The victim in the memcg subtree ``root`` (0 for the machine), -1 if none is eligible."""
    best = -1
    best_points = -1
    for t in range(st.task.shape[0]):
        if st.task[t, T_KTHREAD] or st.task[t, T_KILLED] or st.task[t, T_OOM_SCORE_ADJ] <= -1000:
            continue
        if not mem_cgroup_is_descendant(st, st.task[t, T_MEMCG], root):
            continue
        points = oom_badness(st, t)
        if points > best_points:
            best, best_points = t, points
    return best


@jit
def out_of_memory(st, root):
    """Kill a victim in the memcg subtree ``root`` and free its memory.  Returns the victim or -1."""
    victim = select_bad_process(st, root)
    if victim < 0:
        return -1
    trace_mark_victim(st, st.task[victim, T_PID])
    st.task[victim, T_KILLED] = 1
    st.g[G_OOM_KILLS] += 1
    st.g[G_LAST_OOM_VICTIM] = victim
    memcg = st.task[victim, T_MEMCG]
    st.vmstat[0, VM_OOM_KILL] += 1
    m = memcg
    while m >= 0:
        st.mc[m, MC_EVENTS_OOM_KILL] += 1
        m = st.mc[m, MC_PARENT]
    exit_mmap(st, victim)
    return victim
