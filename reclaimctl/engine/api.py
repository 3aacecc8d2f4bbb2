"""The engine's Python API: build a machine, feed a workload stream, run, read the results.

    sim = Simulation(MachineSpec(node_pages=65536, swap_pages=65536), profiles.get("kernel-372"),
                     tasks=[TaskSpec(1000, "dd", anon_pages=100_000)], file_pages=200_000)
    sim.run(workload(ts=..., cpu=..., task=..., op=..., obj=..., count=...))
    tables = sim.tables()        # EventTables, same schema as a parsed trace
    sim.vmstat()                 # /proc/vmstat-style counters
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit, types
from numba.core.extending import intrinsic
from numba.np.arrayobj import populate_array

from ..events.tables import EventTables, TraceMeta
from .debug import RULES, check_invariants
from .machine import MachineSpec, MemcgSpec, TaskSpec, build_state
from .profiles import Profile
from .run import ENTRY_RUN, ENTRY_SETTLE, STATUS_BUFFER, STATUS_CHECK, engine_entry
from .shrinker_registry import SlabHistory, set_bits
from .state import (
    EV_TS,
    G_EV_LOST,
    G_EV_N,
    G_NOW,
    G_NR_SHRINKERS,
    G_OOM_KILLS,
    G_STEP,
    G_SWAP_TOTAL,
    G_SWAP_USED,
    LRU_NAMES,
    LV_NR,
    MC_EVENTS_LOW,
    MC_EVENTS_MAX,
    MC_EVENTS_OOM_KILL,
    MC_MAX,
    MC_USAGE,
    NR_LRU_LISTS,
    SH_FLAGS,
    SH_ID,
    SH_NAME,
    SHRINKER_MEMCG_AWARE,
    SHRINKER_NONSLAB,
    VMSTAT_NAMES,
    Z_FREE,
    Z_MANAGED,
    Z_NODE,
    Z_WMARK_HIGH,
    Z_WMARK_LOW,
    Z_WMARK_MIN,
    State,
    StateArray,
    StateRef,
    Workload,
)
from .trace import to_tables

_TRACE_KERNELS = {"4.18-147": ("4.18.0-147", "...."), "4.18-372": ("4.18.0-372", "...."), "6.6": ("6.6.0", ".....")}


@intrinsic
def _unowned(typingctx, arrays):  # type: ignore[no-untyped-def]
    """The same arrays with no meminfo, typed :class:`StateArray`: the engine does not
    reference-count them.  The Simulation that built the StateRef keeps the arrays alive."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        out = []
        for i, (ty, rty) in enumerate(zip(sig.args[0], sig.return_type, strict=True)):
            src = context.make_array(ty)(context, builder, builder.extract_value(args[0], i))
            dst = context.make_array(rty)(context, builder)
            populate_array(dst, data=src.data, shape=src.shape, strides=src.strides, itemsize=src.itemsize,
                           meminfo=None)
            out.append(dst._getvalue())
        return context.make_tuple(builder, sig.return_type, out)

    return types.Tuple([StateArray(a.dtype, a.ndim, a.layout) for a in arrays])(arrays), codegen


def _new_state_ref(*arrays):  # type: ignore[no-untyped-def]
    return StateRef(*_unowned(arrays))


# StateRef's own constructor is compiled anew in every process (seconds); this cached one is not.
# It calls no engine function, so it cannot go stale when they change (see reclaimctl.jitcache).
new_state_ref = njit(cache=True)(_new_state_ref)


class EngineError(RuntimeError):
    """The model broke one of its invariants, or lost trace events: a bug or a too-small buffer."""


def workload(ts: Sequence[int] | np.ndarray, cpu: Sequence[int] | np.ndarray, task: Sequence[int] | np.ndarray,
             op: Sequence[int] | np.ndarray, obj: Sequence[int] | np.ndarray, count: Sequence[int] | np.ndarray,
             arg: Sequence[int] | np.ndarray | None = None) -> Workload:
    """A workload stream from columns (``task`` indexes the Simulation's task list).

    The columns are made contiguous, of fixed types: the engine is compiled for one workload type
    only (another layout, a strided column say, would compile the whole engine again)."""
    n = len(ts)
    col = np.ascontiguousarray
    return Workload(
        col(ts, np.int64), col(cpu, np.int32), col(task, np.int32), col(op, np.int8), col(obj, np.int64),
        col(count, np.int32), np.zeros(n, np.int32) if arg is None else col(arg, np.int32),
    )


@dataclass
class RunResult:
    events: int
    failed_allocations: int = 0
    skipped_events: int = 0  # events of tasks the OOM killer had killed
    simulated_ns: int = 0


class Simulation:
    def __init__(self, machine: MachineSpec, profile: Profile, memcgs: Sequence[MemcgSpec] = (),
                 tasks: Sequence[TaskSpec] = (), file_pages: int = 0, seed: int = 1, debug: int = 0,
                 stap: bool = True, ev_capacity: int = 1 << 19, source: str = "simulated",
                 slab: SlabHistory | None = None) -> None:
        self.machine = machine
        self.profile = profile
        self.arrays, self.layout = build_state(machine, profile, list(memcgs), list(tasks), file_pages, seed,
                                               debug, stap, ev_capacity, slab)
        self.ref = new_state_ref(*self.arrays)  # what the jitted code gets: the same arrays, by reference
        self.ref._arrays = self.arrays  # the StateRef does not own them (see state.StateArray)
        self.source = source
        self._chunks: list[np.ndarray] = []
        self.result = RunResult(0)

    @property
    def state(self) -> State:
        """The state's arrays (read them; the jitted code writes them in place)."""
        return self.arrays

    def _drain(self) -> None:
        st = self.state
        n = int(st.g[G_EV_N])
        if n:
            self._chunks.append(st.ev[:n].copy())
            st.g[G_EV_N] = 0

    def _check(self, status: int) -> None:
        st = self.state
        if st.g[G_EV_LOST]:
            raise EngineError(f"{int(st.g[G_EV_LOST])} trace events did not fit the buffer; raise ev_capacity")
        if status == STATUS_CHECK:  # debug mode: the engine stopped for the invariants to be checked
            code = int(check_invariants(self.ref))
            if code:
                raise EngineError(f"model invariant broken after step {int(st.g[G_STEP])}: {RULES.get(code, code)}")

    def run(self, wl: Workload, progress: Callable[[int, int], None] | None = None,
            settle_ns: int = 0, chunk: int = 65_536) -> RunResult:
        """Feed the stream (time-ordered).  ``settle_ns`` lets background work go on after the end."""
        wl = workload(*wl)  # the one type the engine is compiled for (no copy when it is already)
        st = self.state
        n = len(wl.ts)
        margin = st.ev.shape[0] // 2
        i = 0
        while i < n:
            stop = min(n, i + chunk)
            status, i, failed, skipped = engine_entry(self.ref, wl, ENTRY_RUN, i, stop, margin)
            self.result.failed_allocations += failed
            self.result.skipped_events += skipped
            self._check(status)
            if status == STATUS_BUFFER:
                self._drain()
            if progress is not None:
                progress(i, n)
        if settle_ns and n:
            engine_entry(self.ref, wl, ENTRY_SETTLE, 0, 0, int(wl.ts[-1]) + settle_ns)
            self._check(0)
        self._drain()
        self.result.events = n
        self.result.simulated_ns = int(max(st.g[G_NOW], wl.ts[-1] if n else 0))
        return self.result

    def check(self) -> None:
        code = int(check_invariants(self.ref))
        if code:
            raise EngineError(f"model invariant broken: {RULES.get(code, code)}")

    # ------------------------------------------------------------ results

    def trace_rows(self) -> np.ndarray:
        self._drain()
        if not self._chunks:
            return np.zeros((0, self.state.ev.shape[1]), np.int64)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        rows = self._chunks[0]
        # rows are appended as contexts run (kswapd's clock can run ahead of the next workload event):
        # put them in time order, as a trace's per-CPU buffers are merged
        order = np.argsort(rows[:, EV_TS], kind="stable")
        if (order != np.arange(len(order))).any():
            rows = rows[order]
            self._chunks = [rows]
        return rows

    def tables(self) -> EventTables:
        fmt = self.profile.switches["trace_format"]
        version, irq = _TRACE_KERNELS[fmt]
        rows = self.trace_rows()
        meta = TraceMeta(source=self.source, origin="simulated", format="engine",
                         kernel={"version": version, "profile": self.profile.name, "trace_format": fmt},
                         lines={"total": len(rows), "parsed": len(rows), "unknown_event": 0, "malformed": 0,
                                "non_event": 0})
        if len(rows):
            meta.first_ns = int(rows[:, 1].min())
            meta.last_ns = int(rows[:, 1].max())
            meta.cpus = sorted({int(c) for c in np.unique(rows[:, 2])})
        tables = to_tables(rows, self.layout.pids, self.layout.comms, meta, shrinker_names=self.layout.shrinkers,
                           irq_flags=irq)
        tables.meta.rows = {k: v.num_rows for k, v in tables.items() if v.num_rows}
        tables.meta.extra["vmstat"] = self.vmstat()
        return tables

    def vmstat(self) -> dict[str, int]:
        totals = self.state.vmstat.sum(axis=0)
        out = {name: int(totals[i]) for i, name in enumerate(VMSTAT_NAMES)}
        z = self.state.zone
        out["nr_free_pages"] = int(z[:, Z_FREE].sum())
        st = self.state
        for lru, name in enumerate(LRU_NAMES):
            out[f"nr_{name}"] = int(st.lv[:, LV_NR + lru].sum())
        out["swap_used"] = int(st.g[G_SWAP_USED])
        out["swap_total"] = int(st.g[G_SWAP_TOTAL])
        out["oom_kills"] = int(st.g[G_OOM_KILLS])
        return out

    def zones(self) -> pd.DataFrame:
        z = self.state.zone
        return pd.DataFrame({
            "node": z[:, Z_NODE], "managed": z[:, Z_MANAGED], "free": z[:, Z_FREE],
            "min": z[:, Z_WMARK_MIN], "low": z[:, Z_WMARK_LOW], "high": z[:, Z_WMARK_HIGH],
        })

    def lruvecs(self) -> pd.DataFrame:
        """Pages per list for every (memcg, node)."""
        st = self.state
        nn = self.machine.nodes
        rows = []
        for lv in range(st.lv.shape[0]):
            memcg, nid = divmod(lv, nn)
            for lru in range(NR_LRU_LISTS):
                rows.append((self.layout.memcgs[memcg], nid, LRU_NAMES[lru], int(st.lv[lv, LV_NR + lru])))
        return pd.DataFrame(rows, columns=["memcg", "node", "lru", "pages"])

    def memcgs(self) -> pd.DataFrame:
        mc = self.state.mc
        return pd.DataFrame({
            "memcg": self.layout.memcgs, "usage": mc[:, MC_USAGE], "max": mc[:, MC_MAX],
            "events_max": mc[:, MC_EVENTS_MAX], "events_low": mc[:, MC_EVENTS_LOW],
            "oom_kill": mc[:, MC_EVENTS_OOM_KILL],
            "shrinker_bits": [set_bits(self.state.mc_map, m) for m in range(mc.shape[0])],
        })

    def shrinkers(self) -> pd.DataFrame:
        """Registered shrinkers: id, flags, objects left and deferred work, in registration order."""
        st = self.state
        rows = []
        for k in range(int(st.g[G_NR_SHRINKERS])):
            i = int(st.shr_list[k])
            flags = int(st.shr[i, SH_FLAGS])
            rows.append((self.layout.shrinkers[int(st.shr[i, SH_NAME])], int(st.shr[i, SH_ID]),
                         bool(flags & SHRINKER_MEMCG_AWARE), bool(flags & SHRINKER_NONSLAB),
                         int(st.shr_objs[i].sum()), int(st.shr_deferred[i].sum())))
        return pd.DataFrame(rows, columns=["shrinker", "id", "memcg_aware", "nonslab", "objects", "nr_deferred"])
