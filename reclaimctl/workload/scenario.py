"""Scenario files (TOML): a machine, its memcgs, swap and storage, and the workload generators.

    description = "dd of 1 GB in a 100 MB memcg"
    profile = "upstream-6.6"          # the default profile (replay --profile overrides it)
    set = ["kmem=off"]                # profile switches or costs the scenario implies
    seed = 1
    settle = "100ms"                  # background work after the last event

    [machine]                         # nodes, memory_per_node, page_size, hz, cpus_per_node, zones,
    nodes = 1                         # cgroup ("v1"/"v2"), swappiness, min_free_kbytes, ...
    memory_per_node = "1G"

    [swap]                            # size, error_rate, latency (write completion)
    size = "1G"

    [storage]                         # writeback (bytes per second)
    writeback = "100M"

    [[memcg]]                         # path, max, memsw (v1), low, min, swappiness, online
    path = "/dd"
    max = "100M"

    [[shrinker]]                      # registered at boot, in order: name, count, memcg_aware,
    name = "super_cache_scan+0x0/0x1a0"   # numa_aware, nonslab, seeks, batch, free_ratio,
    count = 4                         # objs_per_page, objects (per node: a number for the root's
    objects = 20000                   # lists, or a table of memcg path = objects)

    [[workload]]                      # kind = one of GENERATORS, and its parameters
    kind = "dd"
    memcg = "/dd"
    size = "1G"
    bs = "50M"

Sizes take K/M/G/T suffixes (binary) or a plain number of bytes; durations take ns/us/ms/s or a plain
number of nanoseconds; a generator's ``rate`` is pages per second, or bytes per second with a suffix.
Every mistake is a :class:`ScenarioError` naming the file, the key and what is allowed.
``--set key=value`` edits the file's values before validation (``machine.nodes=4``, ``swap.size=1G``,
``workload.0.size=2G``, ``swappiness=0``); keys that are profile switches or costs go to the profile.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import profiles
from ..engine.api import Simulation, workload
from ..engine.machine import X86_64_ZONES, MachineSpec, MemcgSpec
from ..engine.shrinker_registry import ShrinkerSpec
from ..engine.state import Workload
from .generators import AnonGrowth, Builder, Dd, Generator, MappedExec, WorkingSet, Zipf
from .kubepods import Demand, Kubepods

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GENERATORS: dict[str, type[Generator]] = {g.kind: g for g in (AnonGrowth, Dd, WorkingSet, MappedExec, Zipf, Kubepods)}
SIZE_FIELDS = {"size", "bs", "hot", "pod_file_pages", "pod_anon_pages"}  # generator fields in pages
TIME_FIELDS = {"start", "period", "until", "trigger_gap"}
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
TIME_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


class ScenarioError(ValueError):
    """A scenario file or override that cannot be used: one line naming the key."""


def scenarios_dir() -> Path:
    from ..cli.sources import traces_dir

    return traces_dir() / "scenarios"


def shipped() -> dict[str, Path]:
    d = scenarios_dir()
    def natural(p: Path) -> list[Any]:
        return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.stem)]

    return {p.stem: p for p in sorted(d.glob("*.toml"), key=natural)} if d.is_dir() else {}


# ---------------------------------------------------------------- values


def _size_bytes(where: str, v: Any) -> int:
    if isinstance(v, bool):
        raise ScenarioError(f"{where}: expected a size (bytes, or a number with K/M/G/T), got {v!r}")
    if isinstance(v, int) and v >= 0:
        return v
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", v, re.IGNORECASE)
        if m:
            return int(float(m.group(1)) * UNITS[m.group(2).upper()])
    raise ScenarioError(f"{where}: expected a size (bytes, or a number with K/M/G/T), got {v!r}")


def _duration(where: str, v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s)\s*", v)
        if m:
            return int(float(m.group(1)) * TIME_UNITS[m.group(2)])
    raise ScenarioError(f"{where}: expected a duration (e.g. 10ms, 2s, or nanoseconds), got {v!r}")


def _int(where: str, v: Any, lo: int | None = 0, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" in {lo}..{hi}" if hi is not None else (f" >= {lo}" if lo is not None else "")
        raise ScenarioError(f"{where}: expected an integer{rng}, got {v!r}")
    return v


def _float(where: str, v: Any, lo: float = 0.0, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < lo or (hi is not None and v > hi):
        rng = f" in {lo}..{hi}" if hi is not None else f" >= {lo}"
        raise ScenarioError(f"{where}: expected a number{rng}, got {v!r}")
    return float(v)


def _bool(where: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ScenarioError(f"{where}: expected true or false, got {v!r}")
    return v


def _str(where: str, v: Any, allowed: Sequence[str] | None = None) -> str:
    if not isinstance(v, str) or (allowed is not None and v not in allowed):
        what = f"one of {', '.join(allowed)}" if allowed is not None else "a string"
        raise ScenarioError(f"{where}: expected {what}, got {v!r}")
    return v


def _table(where: str, v: Any, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ScenarioError(f"{where}: expected a table, got {v!r}")
    for k in v:
        if k not in allowed:
            raise ScenarioError(f"{where}.{k}: unknown key (allowed: {', '.join(allowed)})")
    return v


# ---------------------------------------------------------------- the scenario


@dataclass
class Scenario:
    name: str
    description: str
    machine: MachineSpec
    memcgs: list[MemcgSpec] = field(default_factory=list)
    generators: list[Generator] = field(default_factory=list)
    shrinkers: list[tuple[ShrinkerSpec, int]] = field(default_factory=list)  # registered at boot, in order
    profile: str = "kernel-372"
    sets: list[str] = field(default_factory=list)  # profile overrides the scenario implies
    seed: int = 1
    settle: int = 0
    stap: bool = True

    def resolve_profile(self, name: str | None = None, user_sets: Sequence[str] = ()) -> profiles.Profile:
        """The profile to run: ``name`` (or the scenario's), the scenario's ``set``, then the user's."""
        return profiles.override(profiles.get(name or self.profile), [*self.sets, *user_sets])

    def build(self, profile: profiles.Profile, debug: int = 0) -> tuple[Simulation, Workload]:
        b = Builder(self.machine, {m.name: m for m in self.memcgs})
        for spec, count in self.shrinkers:
            b.slab.register(spec, count)
        for g in self.generators:
            g.setup(b)
        rows: list[tuple[int, int, int, int, int, int, int]] = []
        sim = Simulation(self.machine, profile, list(b.memcgs.values()), b.tasks, file_pages=b.file_pages,
                         seed=self.seed, debug=debug, stap=self.stap, ev_capacity=1 << 20,
                         source=f"scenario:{self.name}", slab=b.slab)
        ncpu = self.machine.nodes * self.machine.cpus_per_node
        for i, g in enumerate(self.generators):
            cpu = getattr(g, "cpu", 0)
            if not 0 <= cpu < ncpu:
                raise ScenarioError(f"{self.name}: workload[{i}].cpu: expected 0..{ncpu - 1} "
                                    f"({self.machine.nodes} nodes x {self.machine.cpus_per_node} CPUs), got {cpu}")
            rows.extend(g.events(sim))
        if not rows:
            raise ScenarioError(f"{self.name}: the workload is empty (no [[workload]] produced events)")
        cols = np.array(rows, dtype=np.int64)
        order = np.argsort(cols[:, 0], kind="stable")
        cols = cols[order]
        return sim, workload(cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], cols[:, 4], cols[:, 5], cols[:, 6])


MACHINE_KEYS = ("nodes", "memory_per_node", "page_size", "hz", "cpus_per_node", "zones", "dma32", "min_free_kbytes",
                "watermark_scale_factor", "thp_min_free", "cgroup", "swappiness", "dirty_ratio",
                "dirty_background_ratio")
TOP_KEYS = ("name", "description", "profile", "set", "seed", "settle", "stap", "machine", "swap", "storage", "memcg",
            "shrinker", "workload")
SHRINKER_KEYS = ("name", "count", "memcg_aware", "numa_aware", "nonslab", "seeks", "batch", "objects", "free_ratio",
                 "objs_per_page")


def _machine(doc: dict[str, Any], where: str) -> MachineSpec:
    m = _table(f"{where}machine", doc.get("machine", {}), MACHINE_KEYS)
    swap = _table(f"{where}swap", doc.get("swap", {}), ("size", "error_rate", "latency"))
    storage = _table(f"{where}storage", doc.get("storage", {}), ("writeback",))
    k = f"{where}machine."
    page_size = _size_bytes(k + "page_size", m.get("page_size", 4096))
    if page_size < 4096 or page_size & (page_size - 1):
        raise ScenarioError(f"{k}page_size: expected a power of two >= 4K, got {m.get('page_size')!r}")
    zones = m.get("zones", list(X86_64_ZONES))
    if not isinstance(zones, list) or "Normal" not in zones or not all(isinstance(z, str) for z in zones):
        raise ScenarioError(f"{k}zones: expected a list of zone names including \"Normal\", got {zones!r}")
    spec = MachineSpec(
        nodes=_int(k + "nodes", m.get("nodes", 1), 1, 64),
        node_pages=_size_bytes(k + "memory_per_node", m.get("memory_per_node", "1G")) // page_size,
        dma32_pages=_size_bytes(k + "dma32", m.get("dma32", 0)) // page_size,
        zone_types=tuple(zones),
        page_size=page_size,
        hz=_int(k + "hz", m.get("hz", 1000), 1),
        cpus_per_node=_int(k + "cpus_per_node", m.get("cpus_per_node", 2), 1, 256),
        min_free_kbytes=_int(k + "min_free_kbytes", m["min_free_kbytes"], 1) if "min_free_kbytes" in m else None,
        watermark_scale_factor=_int(k + "watermark_scale_factor", m.get("watermark_scale_factor", 10), 1, 1000),
        thp_min_free=_bool(k + "thp_min_free", m.get("thp_min_free", False)),
        cgroup_v2=_str(k + "cgroup", m.get("cgroup", "v1"), ("v1", "v2")) == "v2",
        swappiness=_int(k + "swappiness", m.get("swappiness", 60), 0, 200),
        dirty_ratio=_int(k + "dirty_ratio", m.get("dirty_ratio", 20), 1, 100),
        dirty_background_ratio=_int(k + "dirty_background_ratio", m.get("dirty_background_ratio", 10), 1, 100),
        swap_pages=_size_bytes(f"{where}swap.size", swap.get("size", 0)) // page_size,
        swap_error_rate=_float(f"{where}swap.error_rate", swap.get("error_rate", 0.0), 0.0, 1.0),
        writeback_pages_per_s=max(1, _size_bytes(f"{where}storage.writeback", storage.get("writeback", "100M"))
                                  // page_size),
    )
    if spec.node_pages < 1024:
        raise ScenarioError(f"{k}memory_per_node: expected at least 1024 pages, got {spec.node_pages}")
    return spec


def _memcgs(doc: dict[str, Any], where: str, machine: MachineSpec) -> list[MemcgSpec]:
    out = []
    items = doc.get("memcg", [])
    if not isinstance(items, list):
        raise ScenarioError(f"{where}memcg: expected an array of tables ([[memcg]])")
    for i, raw in enumerate(items):
        k = f"{where}memcg[{i}]"
        t = _table(k, raw, ("path", "max", "memsw", "low", "min", "swappiness", "online"))
        path = _str(k + ".path", t.get("path"))
        if not path.startswith("/") or path == "/":
            raise ScenarioError(f"{k}.path: expected an absolute path below the root, like /kubepods, got {path!r}")
        ps = machine.page_size
        out.append(MemcgSpec(
            path,
            max_pages=_size_bytes(k + ".max", t["max"]) // ps if "max" in t else None,
            swappiness=_int(k + ".swappiness", t.get("swappiness", machine.swappiness), 0, 200),
            low_pages=_size_bytes(k + ".low", t.get("low", 0)) // ps,
            min_pages=_size_bytes(k + ".min", t.get("min", 0)) // ps,
            online=_bool(k + ".online", t.get("online", True)),
            memsw_max_pages=_size_bytes(k + ".memsw", t["memsw"]) // ps if "memsw" in t else None,
        ))
        if "memsw" in t and machine.cgroup_v2:
            raise ScenarioError(f"{k}.memsw: memory.memsw.* is cgroup v1 (machine.cgroup = \"v1\")")
    return out


def _generator(raw: Any, where: str, page_size: int) -> Generator:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a table")
    kind = _str(where + ".kind", raw.get("kind"), tuple(GENERATORS))
    cls = GENERATORS[kind]
    params = [f for f in fields(cls) if not f.name.startswith("_")]  # type: ignore[arg-type]
    names = [f.name for f in params]
    _table(where, {k: v for k, v in raw.items() if k != "kind"}, names)
    kwargs: dict[str, Any] = {}
    for f in params:
        if f.name not in raw:
            continue
        v, k = raw[f.name], f"{where}.{f.name}"
        default = None if f.default is MISSING else f.default
        if f.name in SIZE_FIELDS:
            kwargs[f.name] = _size_bytes(k, v) // page_size if isinstance(v, str) else _int(k, v)
        elif f.name in TIME_FIELDS:
            kwargs[f.name] = _duration(k, v)
        elif f.name == "rate":
            kwargs[f.name] = _size_bytes(k, v) / page_size if isinstance(v, str) else _float(k, v)
        elif f.name == "type":
            kwargs[f.name] = _str(k, v, ("file", "anon"))
        elif f.name == "big_pods":
            if not isinstance(v, list):
                raise ScenarioError(f"{k}: expected a list of page counts, got {v!r}")
            kwargs[f.name] = [_int(f"{k}[{j}]", x) for j, x in enumerate(v)]
        elif f.name == "demands":
            raise ScenarioError(f"{k}: set from a trace by `replay TRACE`, not in a file")
        elif isinstance(default, bool):
            kwargs[f.name] = _bool(k, v)
        elif isinstance(default, int):
            kwargs[f.name] = _int(k, v, 0)
        elif isinstance(default, float):
            kwargs[f.name] = _float(k, v)
        else:
            kwargs[f.name] = _str(k, v)
    return cls(**kwargs)


def _shrinkers(doc: dict[str, Any], where: str) -> list[tuple[ShrinkerSpec, int]]:
    items = doc.get("shrinker", [])
    if not isinstance(items, list):
        raise ScenarioError(f"{where}shrinker: expected an array of tables ([[shrinker]])")
    out = []
    for i, raw in enumerate(items):
        k = f"{where}shrinker[{i}]"
        t = _table(k, raw, SHRINKER_KEYS)
        objects = t.get("objects", {})
        if isinstance(objects, int) and not isinstance(objects, bool):
            objects = {"/": objects}
        if not isinstance(objects, dict):
            raise ScenarioError(f"{k}.objects: expected a number (on the root's lists) or a table of memcg path = "
                                f"objects per node, got {objects!r}")
        spec = ShrinkerSpec(
            name=_str(k + ".name", t.get("name", "super_cache_scan+0x0/0x1a0")),
            memcg_aware=_bool(k + ".memcg_aware", t.get("memcg_aware", True)),
            numa_aware=_bool(k + ".numa_aware", t.get("numa_aware", True)),
            nonslab=_bool(k + ".nonslab", t.get("nonslab", False)),
            seeks=_int(k + ".seeks", t.get("seeks", 2), 0), batch=_int(k + ".batch", t.get("batch", 0), 0),
            objects={p: _int(f"{k}.objects.{p}", n) for p, n in objects.items()},
            free_ratio=_float(k + ".free_ratio", t.get("free_ratio", 1.0), 0.0, 1.0),
            objs_per_page=_int(k + ".objs_per_page", t.get("objs_per_page", 32), 1),
            empty_is_shrink_empty=not _bool(k + ".nonslab", t.get("nonslab", False)),
        )
        out.append((spec, _int(k + ".count", t.get("count", 1), 1)))
    return out


def parse(doc: dict[str, Any], name: str, where: str = "") -> Scenario:
    """A scenario from a TOML document (``where`` prefixes every key in errors, e.g. the file name)."""
    _table(where.rstrip(": ") or name, doc, TOP_KEYS)
    machine = _machine(doc, where)
    memcgs = _memcgs(doc, where, machine)
    items = doc.get("workload", [])
    if not isinstance(items, list) or not items:
        raise ScenarioError(f"{where}workload: expected at least one [[workload]] table")
    gens = [_generator(raw, f"{where}workload[{i}]", machine.page_size) for i, raw in enumerate(items)]
    sets = doc.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise ScenarioError(f"{where}set: expected a list of \"key=value\" strings")
    swap = doc.get("swap", {})
    if "latency" in swap:  # the device's write completion latency is the profile cost lat_swap_w
        sets = [f"lat_swap_w={_duration(f'{where}swap.latency', swap['latency'])}", *sets]
    profile = _str(f"{where}profile", doc.get("profile", "kernel-372"), tuple(profiles.PROFILES))
    try:
        profiles.override(profiles.get(profile), sets)
    except profiles.ProfileError as exc:
        raise ScenarioError(f"{where}set: {exc}") from None
    return Scenario(
        name=_str(f"{where}name", doc.get("name", name)), description=_str(f"{where}description", doc.get("description", "")),
        machine=machine, memcgs=memcgs, generators=gens, profile=profile, sets=list(sets),
        shrinkers=_shrinkers(doc, where),
        seed=_int(f"{where}seed", doc.get("seed", 1), 0), settle=_duration(f"{where}settle", doc.get("settle", 0)),
        stap=_bool(f"{where}stap", doc.get("stap", True)),
    )


def _literal(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_sets(doc: dict[str, Any], sets: Sequence[str], where: str = "") -> list[str]:
    """Apply ``key=value`` edits to the document; return those meant for the profile."""
    to_profile = []
    for a in sets:
        key, sep, text = a.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {a!r}: expected key=value")
        if key.startswith("profile.") or key in profiles.SWITCHES or key in profiles.COSTS:
            to_profile.append(f"{key.removeprefix('profile.')}={text.strip()}")
            continue
        parts = key.split(".")
        if len(parts) == 1 and parts[0] in MACHINE_KEYS:
            parts = ["machine", parts[0]]
        if parts[0] not in TOP_KEYS:
            allowed = "machine.*, swap.*, storage.*, memcg.N.*, shrinker.N.*, workload.N.*, " + ", ".join(
                k for k in TOP_KEYS if k not in ("machine", "swap", "storage", "memcg", "shrinker", "workload"))
            raise ScenarioError(f"--set {key}: not a scenario key or a profile switch or cost (scenario keys: {allowed}; "
                                "`reclaimctl profiles NAME` lists the profile's)")
        node: Any = doc
        for i, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                if not p.isdigit() or int(p) >= len(node):
                    raise ScenarioError(f"--set {key}: {'.'.join(parts[:i])} has {len(node)} entries, no {p!r}")
                node = node[int(p)]
            else:
                node = node.setdefault(p, {})
        if isinstance(node, list):
            raise ScenarioError(f"--set {key}: name an entry, like {key}.0.<key>")
        node[parts[-1]] = _literal(text.strip())
    return to_profile


def load(source: str, sets: Sequence[str] = ()) -> tuple[Scenario, list[str]]:
    """A scenario file or shipped name, with ``--set`` edits; returns it and the profile overrides."""
    path = Path(source)
    if not path.is_file():
        known = shipped()
        key = source.removeprefix("scenario:")
        if key not in known:
            raise ScenarioError(f"{source}: no such scenario file, and no shipped scenario of that name "
                                f"(shipped: {', '.join(known) or 'none'})")
        path = known[key]
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    profile_sets = apply_sets(doc, sets)
    scenario = parse(doc, path.stem, f"{path.name}: ")
    return scenario, profile_sets


def for_trace_stream(stream: Generator, scenario: Scenario | None, span_pages: int, cpus: int,
                     label: str) -> Scenario:
    """The scenario that replays a trace's allocation stream: the given scenario's machine and memcgs
    with the stream as its only workload, or a one-node machine sized from the trace's pfn span."""
    if scenario is not None:
        scenario.generators = [stream]
        return scenario
    machine = MachineSpec(nodes=1, node_pages=max(span_pages, 65_536), cpus_per_node=max(1, cpus))
    return Scenario(name=f"trace:{Path(label).name}", description=f"the allocation stream of {label}",
                    machine=machine, generators=[stream], settle=100_000_000)


def with_demands(scenario: Scenario, demands: list[Demand]) -> Scenario:
    """The scenario whose kubepods workload replays ``demands`` (recorded reclaim calls)."""
    kube = [g for g in scenario.generators if isinstance(g, Kubepods)]
    if not kube:
        raise ScenarioError(f"{scenario.name}: replaying recorded reclaim calls needs a kubepods workload "
                            "(the LRU state they ran against); use --scenario incident or a file with one")
    kube[0].demands = demands
    return scenario
