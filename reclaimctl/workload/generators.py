"""Workload generators: what the tasks of a scenario do to memory, as a time-ordered event stream.

Each generator is a ``[[workload]]`` table of a scenario file, with a ``kind`` and its parameters.
A generator first *sets up* (the memcgs, tasks, file pages and shrinkers it needs, through a
:class:`Builder`), then yields its events once the machine exists.  Sizes are in pages here; the
scenario loader converts ``"100M"`` and the like.  Times are nanoseconds from the start of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from ..engine.machine import MachineSpec, MemcgSpec, TaskSpec
from ..engine.shrinker_registry import SlabHistory
from ..engine.state import (
    ARG_EXEC,
    ARG_MLOCK,
    OP_ANON_FAULT,
    OP_ANON_TOUCH,
    OP_FILE_MAP,
    OP_FILE_READ,
    OP_FILE_WRITE,
    T_ANON_LO,
)

Rows = list[tuple[int, int, int, int, int, int, int]]  # ts, cpu, task, op, obj, count, arg


@dataclass
class Builder:
    """What the generators of a scenario declare before the machine is built."""

    machine: MachineSpec
    memcgs: dict[str, MemcgSpec] = field(default_factory=dict)
    tasks: list[TaskSpec] = field(default_factory=list)
    file_pages: int = 0
    slab: SlabHistory = field(default_factory=SlabHistory)
    next_pid: int = 1000

    def memcg(self, path: str) -> str:
        key = "/" + path.strip("/") if path.strip("/") else "/"
        if key != "/" and key not in self.memcgs:
            self.memcgs[key] = MemcgSpec(key)
        return key

    def task(self, comm: str, memcg: str, anon_pages: int = 0, pid: int | None = None) -> int:
        """A new task; returns its index (the workload's ``task`` column)."""
        if pid is None:
            pid = self.next_pid
            self.next_pid += 1
        self.tasks.append(TaskSpec(pid, comm, self.memcg(memcg), anon_pages=anon_pages))
        return len(self.tasks) - 1

    def files(self, pages: int) -> int:
        """A range of file page ids; returns the first."""
        first = self.file_pages
        self.file_pages += pages
        return first


class Generator:
    """Base of the generators: ``kind`` names it in scenario files; fields are its parameters."""

    kind: ClassVar[str] = ""
    doc: ClassVar[str] = ""

    def setup(self, b: Builder) -> None:
        raise NotImplementedError

    def events(self, sim: Any) -> Rows:
        raise NotImplementedError

    @classmethod
    def params(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]


def _anon0(sim: Any, task: int) -> int:
    return int(sim.state.task[task, T_ANON_LO])


def _spacing(rate_pages_per_s: float) -> int:
    return max(1, int(1e9 / rate_pages_per_s)) if rate_pages_per_s > 0 else 1


@dataclass
class AnonGrowth(Generator):
    """A task faults ``size`` pages of anonymous memory at ``rate`` pages/s (and re-touches the first
    ``hot`` of them every ``touch_every`` faults)."""

    kind: ClassVar[str] = "anon_growth"
    doc: ClassVar[str] = "a task faulting anonymous memory at a rate (optionally re-touching a hot set)"
    memcg: str = "/"
    size: int = 0
    rate: float = 100_000.0
    cpu: int = 0
    comm: str = "anon"
    start: int = 0
    hot: int = 0
    touch_every: int = 0
    mlock: bool = False  # mlocked (VM_LOCKED): the pages go to the unevictable list
    _task: int = -1

    def setup(self, b: Builder) -> None:
        self._task = b.task(self.comm, self.memcg, anon_pages=self.size)

    def events(self, sim: Any) -> Rows:
        a0, gap = _anon0(sim, self._task), _spacing(self.rate)
        arg = ARG_MLOCK if self.mlock else 0
        rows: Rows = []
        t = self.start
        for k in range(self.size):
            rows.append((t, self.cpu, self._task, OP_ANON_FAULT, a0 + k, 1, arg))
            if self.hot and self.touch_every and k and k % self.touch_every == 0:
                rows.append((t, self.cpu, self._task, OP_ANON_TOUCH, a0, min(self.hot, k), 0))
            t += gap
        return rows


@dataclass
class Dd(Generator):
    """``dd bs=BS count=N``: a ``bs``-page anonymous buffer touched before every block, then the block
    written through the page cache (the notes' swappiness experiment)."""

    kind: ClassVar[str] = "dd"
    doc: ClassVar[str] = "dd writing a file through the page cache with a bs-sized anonymous buffer"
    memcg: str = "/"
    size: int = 0
    bs: int = 32
    rate: float = 25_600.0  # pages/s of writes (100 MB/s of 4 KiB pages)
    cpu: int = 0
    comm: str = "dd"
    start: int = 0
    _task: int = -1
    _file: int = 0

    def setup(self, b: Builder) -> None:
        self._task = b.task(self.comm, self.memcg, anon_pages=self.bs)
        self._file = b.files(self.size)

    def events(self, sim: Any) -> Rows:
        a0, gap = _anon0(sim, self._task), _spacing(self.rate)
        rows: Rows = []
        t = self.start
        for block in range(0, self.size, self.bs):
            rows.append((t, self.cpu, self._task, OP_ANON_TOUCH, a0, self.bs, 0))
            for k in range(block, min(block + self.bs, self.size)):
                t += gap
                rows.append((t, self.cpu, self._task, OP_FILE_WRITE, self._file + k, 1, 0))
        return rows


@dataclass
class _PageSet(Generator):
    """``size`` pages of a file (one per generator) or of the task's anonymous memory."""

    memcg: str = "/"
    size: int = 0
    type: str = "file"
    rate: float = 100_000.0
    cpu: int = 0
    comm: str = "app"
    start: int = 0
    _task: int = -1
    _file: int = 0

    def setup(self, b: Builder) -> None:
        self._task = b.task(self.comm, self.memcg, anon_pages=self.size if self.type == "anon" else 0)
        if self.type == "file":
            self._file = b.files(self.size)

    def base(self, sim: Any) -> int:
        """Object id of page 0 of the set."""
        return _anon0(sim, self._task) if self.type == "anon" else self._file


@dataclass
class WorkingSet(_PageSet):
    """A set of ``size`` pages (file or anon) referenced ``passes`` times in order."""

    kind: ClassVar[str] = "working_set"
    doc: ClassVar[str] = "a file or anonymous working set referenced again and again"
    passes: int = 2

    def events(self, sim: Any) -> Rows:
        gap = _spacing(self.rate)
        anon = self.type == "anon"
        base = self.base(sim)
        rows: Rows = []
        t = self.start
        for p in range(self.passes):
            op = (OP_ANON_FAULT if p == 0 else OP_ANON_TOUCH) if anon else OP_FILE_READ
            for k in range(self.size):
                rows.append((t, self.cpu, self._task, op, base + k, 1, 0))
                t += gap
        return rows


@dataclass
class MappedExec(Generator):
    """An executable's text: ``size`` file pages mapped VM_EXEC, faulted in, then re-touched every
    ``period`` (ns) until ``until``."""

    kind: ClassVar[str] = "mapped_exec"
    doc: ClassVar[str] = "mapped executable text (VM_EXEC), re-touched periodically"
    memcg: str = "/"
    size: int = 0
    period: int = 100_000_000
    until: int = 1_000_000_000
    cpu: int = 0
    comm: str = "server"
    start: int = 0
    _task: int = -1
    _file: int = 0

    def setup(self, b: Builder) -> None:
        self._task = b.task(self.comm, self.memcg)
        self._file = b.files(self.size)

    def events(self, sim: Any) -> Rows:
        rows: Rows = []
        t = self.start
        while t <= self.until:
            rows.append((t, self.cpu, self._task, OP_FILE_MAP, self._file, self.size, ARG_EXEC | (1 << 8)))
            t += self.period
        return rows


@dataclass
class Zipf(_PageSet):
    """``requests`` references drawn from ``size`` pages, Zipf(alpha) (alpha 0: uniform random)."""

    kind: ClassVar[str] = "zipf"
    doc: ClassVar[str] = "random references over a footprint, Zipf-distributed (alpha 0: uniform)"
    requests: int = 0
    alpha: float = 1.0
    seed: int = 1

    def events(self, sim: Any) -> Rows:
        rng = np.random.default_rng(self.seed)
        if self.alpha > 0:
            w = 1.0 / np.arange(1, self.size + 1) ** self.alpha
            keys = rng.choice(self.size, size=self.requests, p=w / w.sum())
        else:
            keys = rng.integers(0, self.size, self.requests)
        base = self.base(sim)
        op = OP_ANON_FAULT if self.type == "anon" else OP_FILE_READ
        gap = _spacing(self.rate)
        return [(self.start + i * gap, self.cpu, self._task, op, base + int(k), 1, 0) for i, k in enumerate(keys)]
