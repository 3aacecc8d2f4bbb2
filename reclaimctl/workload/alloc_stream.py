"""A trace's allocation stream as a workload: what the tasks did to memory, without what reclaim did.

From the kmem, filemap and writeback events around reclaim:

* ``mm_page_alloc`` of a user page (``__GFP_MOVABLE``) that a ``mm_filemap_add_to_page_cache`` of
  the same pfn follows is a **page-cache read** of that file page (dev, inode, offset), at the
  add's time; one that no add follows is an **anonymous fault** (a new anon id of that task);
* ``mm_page_free`` of an anonymous page's pfn is a **munmap / exit** of that id, and
  ``mm_filemap_delete_from_page_cache`` a **truncation**, unless the recorded kernel's own reclaim
  did it (kswapd, or inside a reclaim call of that task): replaying those would replay the recorded
  reclaim instead of letting the model reclaim;
* ``writeback_dirty_page`` / ``writeback_dirty_folio`` (inode, index) is a **write** to that page.

Allocations without ``__GFP_MOVABLE`` are kernel memory (slab, page tables): not replayed, counted.
Order-n allocations are 2^n pages.  Each (pid, comm) becomes a task in the root memcg; the machine
comes from the scenario given with it, or, without one, is sized from the trace's pfn span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..engine.state import OP_ANON_FAULT, OP_ANON_FREE, OP_FILE_DELETE, OP_FILE_READ, OP_FILE_WRITE
from ..events.tables import EventTables
from .generators import Builder, Generator, Rows


def has_alloc_stream(tables: EventTables) -> bool:
    return tables["mm_page_alloc"].num_rows > 0 or tables["mm_filemap_add_to_page_cache"].num_rows > 0


def _codes(col: pd.Series, names: dict[str, int]) -> np.ndarray:
    """A string column as integer ids of ``names`` (interned as met): no per-row Python strings."""
    cat = col.astype("category") if not isinstance(col.dtype, pd.CategoricalDtype) else col
    ids = np.array([names.setdefault(str(c), len(names)) for c in cat.cat.categories] + [-1], np.int64)
    return ids[cat.cat.codes.to_numpy()]  # code -1 (null) takes the last entry


def _frame(tables: EventTables, name: str, cols: list[str], names: dict[str, int]) -> pd.DataFrame:
    """The event's rows; ``comm`` and ``dev`` as ids of ``names``."""
    t = tables[name]
    head = ["ts_ns", "cpu", "pid", "comm"]
    df = t.select([c for c in head + cols if c in t.column_names]).to_pandas()
    for c in ("comm", "dev"):
        if c in df:
            df[c] = _codes(df[c], names)
    return df


def _in_reclaim(tables: EventTables, df: pd.DataFrame, names: dict[str, int]) -> np.ndarray:
    """Rows done by the recorded kernel's reclaim: kswapd, or a task inside its reclaim call."""
    kswapd = [i for s, i in names.items() if s.startswith("kswapd")]
    mask = np.isin(df["comm"].to_numpy(), kswapd)
    for kind in ("direct", "memcg"):
        b = _frame(tables, f"mm_vmscan_{kind}_reclaim_begin", [], names)
        e = _frame(tables, f"mm_vmscan_{kind}_reclaim_end", [], names)
        for pid, begins in b.groupby("pid"):
            ends = e[e.pid == pid].ts_ns.to_numpy()
            rows = (df.pid == pid).to_numpy()
            if not rows.any():
                continue
            ts = df.ts_ns.to_numpy()
            for t0 in begins.ts_ns.to_numpy():
                later = ends[ends >= t0]
                t1 = later[0] if len(later) else np.iinfo(np.int64).max
                mask |= rows & (ts >= t0) & (ts <= t1)
    return mask


@dataclass
class StreamStats:
    user_allocs: int = 0
    kernel_allocs: int = 0
    file_reads: int = 0
    anon_faults: int = 0
    anon_frees: int = 0
    truncations: int = 0
    writes: int = 0
    reclaim_frees_skipped: int = 0
    max_pfn_span: int = 0


@dataclass
class TraceStream(Generator):
    """The workload of a trace (see the module docstring).  Built by :func:`trace_stream`."""

    kind: ClassVar[str] = "trace"
    doc: ClassVar[str] = "the allocation stream of a trace (replay TRACE)"
    ops: pd.DataFrame = field(default_factory=pd.DataFrame)  # ts, cpu, task_key, op, obj, count
    tasks: list[tuple[int, str, int]] = field(default_factory=list)  # pid, comm, anon ids
    file_pages: int = 0
    stats: StreamStats = field(default_factory=StreamStats)
    _task_index: list[int] = field(default_factory=list)
    _file0: int = 0

    def setup(self, b: Builder) -> None:
        self._task_index = [b.task(comm, "/", anon, pid=pid) for pid, comm, anon in self.tasks]
        self._file0 = b.files(self.file_pages)

    def events(self, sim: Any) -> Rows:
        from ..engine.state import T_ANON_LO

        if not len(self.ops):
            return []
        ncpu = sim.machine.nodes * sim.machine.cpus_per_node
        df = self.ops
        task = np.asarray(self._task_index, np.int64)[df.task_key.to_numpy()]
        op = df.op.to_numpy()
        obj = df.obj.to_numpy().copy()
        anon = (op == OP_ANON_FAULT) | (op == OP_ANON_FREE)
        obj[anon] += sim.state.task[task[anon], T_ANON_LO]
        obj[~anon] += self._file0
        t0 = int(df.ts_ns.iloc[0])
        cols = zip((df.ts_ns.to_numpy() - t0).tolist(), (df.cpu.to_numpy() % ncpu).tolist(), task.tolist(),
                   op.tolist(), obj.tolist(), df["count"].tolist(), [0] * len(df), strict=True)
        return list(cols)


def _file_ids(adds: pd.DataFrame, dels: pd.DataFrame) -> np.ndarray:
    """One id per distinct (dev, ino, ofs) over the adds then the deletes, by first appearance."""
    n = len(adds) + len(dels)
    if not n:
        return np.zeros(0, np.int64)
    dev_code = np.concatenate([adds["dev"].to_numpy(np.int64), dels["dev"].to_numpy(np.int64)])
    ino = np.concatenate([adds["ino"].to_numpy(np.int64), dels["ino"].to_numpy(np.int64)])
    ofs = np.concatenate([adds["ofs"].to_numpy(np.int64), dels["ofs"].to_numpy(np.int64)])
    frame = pd.DataFrame({"dev": dev_code, "ino": ino, "ofs": ofs})
    return frame.groupby(["dev", "ino", "ofs"], sort=False).ngroup().to_numpy(np.int64)


def trace_stream(tables: EventTables, page_size: int = 4096) -> TraceStream:
    """``page_size`` turns the filemap events' byte offsets into the page index writeback prints."""
    st = StreamStats()
    names: dict[str, int] = {}  # comm and dev strings -> ids
    alloc = _frame(tables, "mm_page_alloc", ["pfn", "order", "gfp_movable"], names)
    if len(alloc):
        user = alloc["gfp_movable"].fillna(False).to_numpy(bool) & alloc["pfn"].notna().to_numpy()
        st.kernel_allocs = int((~user).sum())
        alloc = alloc[user].reset_index(drop=True)
    st.user_allocs = len(alloc)
    adds = _frame(tables, "mm_filemap_add_to_page_cache", ["dev", "ino", "ofs", "pfn"], names)
    dels = _frame(tables, "mm_filemap_delete_from_page_cache", ["dev", "ino", "ofs", "pfn"], names)
    dirty = _frame(tables, "writeback_dirty_page", ["ino", "index"], names)
    for df in (adds, dels, dirty):
        if "ino" in df:
            df["ino"] = df["ino"].astype("int64")
    if len(dirty):
        dirty["ofs"] = dirty["index"].astype("int64") * page_size
    frees = _frame(tables, "mm_page_free", ["pfn", "order"], names)
    pfns = pd.concat([alloc.get("pfn", pd.Series(dtype="int64")), adds.get("pfn", pd.Series(dtype="int64"))])
    if len(pfns):
        st.max_pfn_span = int(pfns.max() - pfns.min() + 1)

    # file pages: (dev, ino, ofs) -> id, numbered in order of first appearance (adds, then deletes)
    fids = _file_ids(adds, dels)
    adds["fid"], dels["fid"] = fids[:len(adds)], fids[len(adds):]
    by_ino = pd.concat([adds[["ino", "ofs", "fid"]], dels[["ino", "ofs", "fid"]]], ignore_index=True) \
        .drop_duplicates(subset=["ino", "ofs"])  # writeback_dirty_page names a page by (ino, index)
    ops = []
    if len(adds):
        a = adds
        ops.append(pd.DataFrame({"ts_ns": a.ts_ns, "cpu": a.cpu, "pid": a.pid, "comm": a.comm, "op": OP_FILE_READ,
                                 "obj": a.fid, "count": 1}))
        st.file_reads = len(a)
    # an allocation is a file page's if an add of the same pfn follows it before the next alloc of that pfn
    is_file = np.zeros(len(alloc), bool)
    if len(alloc) and len(adds):
        al = alloc.assign(row=np.arange(len(alloc))).sort_values("ts_ns")
        ad = adds[["ts_ns", "pfn"]].sort_values("ts_ns")
        m = pd.merge_asof(ad, al[["ts_ns", "pfn", "row"]], on="ts_ns", by="pfn", direction="backward")
        is_file[m.row.dropna().astype(int).to_numpy()] = True
    anon = alloc[~is_file].reset_index(drop=True)
    if len(anon):
        pages = np.left_shift(1, anon["order"].fillna(0).to_numpy(np.int64))
        anon = anon.assign(count=pages)
        task_of = anon.groupby(["pid", "comm"], sort=False).ngroup()
        anon["first"] = anon.groupby(task_of)["count"].cumsum() - anon["count"]
        ops.append(pd.DataFrame({"ts_ns": anon.ts_ns, "cpu": anon.cpu, "pid": anon.pid, "comm": anon.comm,
                                 "op": OP_ANON_FAULT, "obj": anon["first"], "count": anon["count"]}))
        st.anon_faults = int(pages.sum())
        if len(frees):
            fr = frees[~_in_reclaim(tables, frees, names)]
            st.reclaim_frees_skipped = len(frees) - len(fr)
            m = pd.merge_asof(fr[["ts_ns", "pfn"]].sort_values("ts_ns"),
                              anon[["ts_ns", "pfn", "pid", "comm", "cpu", "first", "count"]].sort_values("ts_ns")
                              .rename(columns={"ts_ns": "alloc_ts"}).assign(ts_ns=lambda d: d.alloc_ts),
                              on="ts_ns", by="pfn", direction="backward").dropna(subset=["first"])
            # a pfn freed once per allocation: keep the first free after each allocation
            m = m.sort_values("ts_ns").drop_duplicates(subset=["pfn", "alloc_ts"], keep="first")
            ops.append(pd.DataFrame({"ts_ns": m.ts_ns, "cpu": m.cpu.astype(int), "pid": m.pid.astype(int),
                                     "comm": m.comm, "op": OP_ANON_FREE, "obj": m["first"].astype(int),
                                     "count": m["count"].astype(int)}))
            st.anon_frees = len(m)
    if len(dels):
        d = dels[~_in_reclaim(tables, dels, names)]
        st.reclaim_frees_skipped += len(dels) - len(d)
        ops.append(pd.DataFrame({"ts_ns": d.ts_ns, "cpu": d.cpu, "pid": d.pid, "comm": d.comm, "op": OP_FILE_DELETE,
                                 "obj": d.fid, "count": 1}))
        st.truncations = len(d)
    if len(dirty) and len(by_ino):
        w = dirty.merge(by_ino, on=["ino", "ofs"])
        ops.append(pd.DataFrame({"ts_ns": w.ts_ns, "cpu": w.cpu, "pid": w.pid, "comm": w.comm, "op": OP_FILE_WRITE,
                                 "obj": w.fid, "count": 1}))
        st.writes = len(w)
    if not ops:
        return TraceStream(stats=st)
    df = pd.concat(ops, ignore_index=True).sort_values("ts_ns", kind="stable").reset_index(drop=True)
    df["task_key"] = df.groupby(["pid", "comm"], sort=False).ngroup()
    first = df.drop_duplicates("task_key").sort_values("task_key")
    anon_per_task = {}
    if len(anon):
        totals = anon.groupby(["pid", "comm"])["count"].sum()
        anon_per_task = {k: int(v) for k, v in totals.items()}
    comm_of = {i: s for s, i in names.items()}
    tasks = [(int(r.pid), comm_of.get(int(r.comm), "<...>"), anon_per_task.get((r.pid, r.comm), 0))
             for r in first.itertuples()]
    return TraceStream(ops=df[["ts_ns", "cpu", "task_key", "op", "obj", "count"]], tasks=tasks,
                       file_pages=int(fids.max()) + 1 if len(fids) else 0, stats=st)
