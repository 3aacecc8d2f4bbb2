"""The simulation loop: workload events in time order, with kswapd, the flusher and IO completions
running in between on their own clocks.

Each event starts at ``max(its timestamp, when its CPU finished the previous one)``, so time spent
in reclaim delays the CPU's next events as it would stall a real task.  The loop returns early when
the trace buffer is nearly full (the caller drains it and calls again) and, in debug mode, every
``G_DEBUG`` steps, for the caller to check the model's invariants (``debug.check_invariants``,
compiled as a call tree of its own, only when debug mode uses it).
"""

from __future__ import annotations

from .jit import jit
from .kswapd import kswapd_run
from .memory import do_op
from .prefetch import prefetch
from .state import (
    CPU_BUSY,
    G_CTX_CPU,
    G_CTX_TASK,
    G_DEBUG,
    G_EV_N,
    G_NOW,
    G_NR_NODES,
    G_STEP,
    KSWAPD_SLEEPING,
    N_KSWAPD_STATE,
    OP_FILE_MAP,
    OP_FILE_READ,
    OP_NOP,
    T_KILLED,
)
from .writeback import complete_io, domain_dirty_limits, wb_writeback

DIRTY_LIMITS_EVERY = 1024
STATUS_DONE, STATUS_BUFFER, STATUS_CHECK = 0, 1, 2


@jit
def background_until(st, t):
    """Everything that is not the workload catches up to time t."""
    for nid in range(st.g[G_NR_NODES]):
        if st.node[nid, N_KSWAPD_STATE] != KSWAPD_SLEEPING:
            kswapd_run(st, nid, t)
    wb_writeback(st, t)
    complete_io(st, t)


PREFETCH_MAP, PREFETCH_PAGE = 8, 3  # events ahead: their object's map entry, then its page


@jit
def prefetch_ahead(st, wl, i, stop):
    """Start loading what file events a few steps ahead will touch first: the page cache entry of
    event i + PREFETCH_MAP and, once that entry is in the cache, the flags of the page of event
    i + PREFETCH_PAGE.  A hint only: the results do not change."""
    j = i + PREFETCH_MAP
    if j < stop and wl.op[j] >= OP_FILE_READ and wl.op[j] <= OP_FILE_MAP:
        prefetch(st.file_map, wl.obj[j])
    j = i + PREFETCH_PAGE
    if j < stop and wl.op[j] >= OP_FILE_READ and wl.op[j] <= OP_FILE_MAP:
        page = st.file_map[wl.obj[j]]
        if page >= 0:
            prefetch(st.pg_flags, page)


@jit
def run_workload(st, wl, start, stop, ev_margin):
    """Run events [start, stop).  Returns (status, next index, failed allocations, skipped events)."""
    failed = 0
    skipped = 0
    for i in range(start, stop):
        if st.g[G_EV_N] + ev_margin > st.ev.shape[0]:
            return STATUS_BUFFER, i, failed, skipped
        prefetch_ahead(st, wl, i, stop)
        t = wl.ts[i]
        cpu = wl.cpu[i]
        task = wl.task[i]
        start_ns = max(t, st.cpu[cpu, CPU_BUSY])
        background_until(st, start_ns)
        if st.task[task, T_KILLED]:
            skipped += 1
            continue
        st.g[G_NOW] = start_ns
        st.g[G_CTX_CPU] = cpu
        st.g[G_CTX_TASK] = task
        op = wl.op[i]
        if op != OP_NOP:
            failed += do_op(st, op, wl.obj[i], wl.count[i], wl.arg[i])
        st.cpu[cpu, CPU_BUSY] = st.g[G_NOW]
        st.g[G_STEP] += 1
        if st.g[G_STEP] % DIRTY_LIMITS_EVERY == 0:
            domain_dirty_limits(st)
        if st.g[G_DEBUG] and st.g[G_STEP] % st.g[G_DEBUG] == 0:
            return STATUS_CHECK, i + 1, failed, skipped
    return STATUS_DONE, stop, failed, skipped


ENTRY_RUN, ENTRY_SETTLE = 0, 1


@jit
def engine_entry(st, wl, what, start, stop, arg):
    """The engine function Python calls (``api.Simulation``), so that the whole model is one
    compiled call tree and one cache entry (see :mod:`reclaimctl.jitlink`).

    ``ENTRY_RUN``: ``run_workload(st, wl, start, stop, ev_margin=arg)``; ``ENTRY_SETTLE`` (after the
    last event): kswapd, the flusher and IO run until ``arg``."""
    if what == ENTRY_SETTLE:
        background_until(st, arg)
        return STATUS_DONE, 0, 0, 0
    return run_workload(st, wl, start, stop, arg)
