"""``reclaimctl replay``: run the reclaim model on a scenario, or on a trace's recorded reclaim calls."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import click

from .errors import UserError

if TYPE_CHECKING:
    from ..engine.api import Simulation
    from ..engine.profiles import Profile
    from ..events.tables import EventTables
    from ..workload.scenario import Scenario

DEFAULT_SCENARIO = "incident"


@dataclass
class Plan:
    """What to run: a scenario (with the user's edits), under a profile, and the recorded tables of
    the trace it replays, if any."""

    scenario: Scenario
    profile: Profile
    label: str
    recorded: EventTables | None = None  # the trace's tables
    profile_sets: tuple[str, ...] = ()  # the user's overrides meant for the profile

    def under(self, profile: str) -> Plan:
        """The same workload under another profile (the trace is not read again)."""
        from ..engine.profiles import ProfileError

        try:
            prof = self.scenario.resolve_profile(profile, self.profile_sets)
        except ProfileError as exc:
            raise UserError(str(exc)) from None
        return replace(self, profile=prof)


def plan(source: str | None, profile: str | None, scenario: str | None, sets: tuple[str, ...],
         seed: int | None) -> Plan:
    """Resolve SOURCE (a scenario file or shipped name, or a trace) into a Plan; UserError if not."""
    from ..engine.profiles import ProfileError
    from ..workload import scenario as sc

    kind, name = "any", source or DEFAULT_SCENARIO
    for prefix in ("scenario:", "trace:"):
        if name.startswith(prefix):
            kind, name = prefix[:-1], name[len(prefix):]
    is_scenario = kind == "scenario" or (kind == "any" and (name.endswith(".toml") or
                                                            (name in sc.shipped() and not os.path.exists(name))))
    try:
        if is_scenario:
            if scenario:
                raise UserError(f"{name} is a scenario; --scenario is for replaying a trace's reclaim calls")
            scen, profile_sets = sc.load(name, sets)
            recorded = None
            label = f"scenario {scen.name}"
        else:
            from ..workload.alloc_stream import has_alloc_stream, trace_stream
            from ..workload.from_trace import NoWorkload, recorded_demands
            from .sources import load

            recorded = load(name)
            if has_alloc_stream(recorded):
                stream = trace_stream(recorded)
                if not len(stream.ops):
                    raise UserError(f"{name}: {stream.stats.kernel_allocs} kernel allocations and no user page "
                                    "allocation, page-cache or dirtying event: no workload to replay")
                base, profile_sets = sc.load(scenario, sets) if scenario else (None, [])
                if base is None and sets:
                    edited: dict[str, object] = {}
                    profile_sets = sc.apply_sets(edited, sets)
                    if edited:
                        raise UserError(f"--set {', '.join(edited)}.*: the machine of {name} is sized from the "
                                        "trace; give --scenario to edit one")
                cpus = int(stream.ops.cpu.max()) + 1
                scen = sc.for_trace_stream(stream, base, stream.stats.max_pfn_span, cpus, name)
                s = stream.stats
                label = (f"{name}: allocation stream ({s.file_reads} page-cache adds, {s.anon_faults} anon pages, "
                         f"{s.anon_frees} frees, {s.truncations} truncations, {s.writes} writes; "
                         f"{s.kernel_allocs} kernel allocations and {s.reclaim_frees_skipped} frees by the recorded "
                         f"reclaim not replayed) on {'scenario ' + scen.name if base else 'a machine sized from it'}")
            else:
                try:
                    demands = recorded_demands(recorded, name)
                except NoWorkload as exc:
                    raise UserError(str(exc)) from None
                scen, profile_sets = sc.load(scenario or DEFAULT_SCENARIO, sets)
                scen = sc.with_demands(scen, demands)
                label = f"{name}: {len(demands)} recorded reclaim calls against scenario {scen.name}"
        if seed is not None:
            scen.seed = seed
        prof = scen.resolve_profile(profile, profile_sets)
    except (sc.ScenarioError, ProfileError) as exc:
        raise UserError(str(exc)) from None
    return Plan(scen, prof, label, recorded, tuple(profile_sets))


def simulate(p: Plan, debug: bool = False) -> tuple[Simulation, float]:
    """Build and run the plan with a progress bar on a terminal; returns (Simulation, seconds)."""
    from ..engine.api import EngineError
    from ..engine.machine import MachineError
    from ..report.progress import run_progress
    from ..workload.scenario import ScenarioError

    try:
        sim, wl = p.scenario.build(p.profile, debug=1000 if debug else 0)
    except (ScenarioError, MachineError, ValueError) as exc:
        raise UserError(str(exc)) from None
    from ..jitcache import engine_is_cold

    if engine_is_cold():
        click.echo("reclaimctl: compiling the reclaim model for its first use (about half a minute on 2 cores; "
                   "cached in ~/.cache/reclaimctl afterwards)", err=True)
    t0 = time.perf_counter()
    label = f"{p.scenario.name} on {p.profile.name}"
    try:
        with run_progress(label, len(wl.ts), enabled=sys.stderr.isatty()) as advance:
            sim.run(wl, progress=advance, settle_ns=p.scenario.settle)
    except EngineError as exc:
        raise click.ClickException(f"the model failed: {exc}") from None
    return sim, time.perf_counter() - t0


def save_tables(tables: EventTables, out_dir: str) -> None:
    """Write into a fresh sibling directory, then swap it in: nothing half-written on failure."""
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".replay-", dir=parent)
    try:
        tables.save(tmp)
        if os.path.isdir(out_dir):
            for f in os.listdir(out_dir):
                if f.endswith(".parquet") or f == "meta.json":
                    os.remove(os.path.join(out_dir, f))
            for f in os.listdir(tmp):
                os.replace(os.path.join(tmp, f), os.path.join(out_dir, f))
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _emit(tables: EventTables, path: str) -> None:
    from ..events.emit import write_text

    tmp = f"{path}.tmp"
    try:
        info = write_text(tables, tmp, stap=f"{tmp}.stap")
        os.replace(tmp, path)
        if info.get("stap"):
            os.replace(f"{tmp}.stap", f"{path}.stap")
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc}") from None
    finally:
        for f in (tmp, f"{tmp}.stap"):
            if os.path.exists(f):
                os.remove(f)
    stap = f" and {info['stap_lines']:,} systemtap lines to {path}.stap" if info.get("stap") else ""
    click.echo(f"wrote {info['lines']:,} trace lines ({info['kernel']} formats) to {path}{stap}", err=True)


@click.command("replay")
@click.argument("source", required=False)
@click.option("--profile", "-p", help="Kernel profile (default: the scenario's; `reclaimctl profiles` lists them).")
@click.option("--scenario", "-s", help="For a trace: the scenario whose machine (and, for recorded reclaim calls, "
              f"LRU state) it runs on (default: {DEFAULT_SCENARIO} for reclaim calls).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value (machine.nodes=4, swap.size=1G, workload.0.size=2G, swappiness=0) or a "
                   "profile switch or cost (kmem=off, c_bit=50).  Repeatable.")
@click.option("--seed", type=int, help="Random seed (default: the scenario's).")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False),
              help="Write the simulated event tables here (the layout of `parse -o`).")
@click.option("--no-store", is_flag=True, help="Without -o, keep nothing (by default the tables go to the local store, "
              "where `reclaimctl stats` with no SOURCE finds them).")
@click.option("--emit-text", "emit_text", type=click.Path(dir_okay=False),
              help="Also write the simulated events as the ftrace `trace` file the profile's kernel would print "
                   "(systemtap rows to FILE.stap); `reclaimctl parse FILE` reads it back to the same tables.")
@click.option("--debug", is_flag=True, help="Check the model's invariants every 1000 workload events.")
def replay(source: str | None, profile: str | None, scenario: str | None, sets: tuple[str, ...], seed: int | None,
           out_dir: str | None, no_store: bool, emit_text: str | None, debug: bool) -> None:
    """Run the reclaim model and report on the simulated run.

    SOURCE is a scenario (a .toml file, or a shipped name: `reclaimctl scenarios` lists them) or a
    trace.  A trace with an allocation stream (mm_page_alloc, mm_filemap_*, mm_page_free,
    writeback_dirty_page) is replayed as what its tasks did, on the machine of --scenario or one
    sized from the trace; otherwise its recorded memcg reclaim calls are, each as a demand at the
    same time on the same CPU by the same task, against the LRU state of --scenario (default:
    incident).  With no SOURCE: the shipped incident scenario of the notes.  `scenario:NAME` and
    `trace:NAME` say which a name is.

    The simulated events have the tables of a parsed trace: every `stats` view and `compare` work
    on them.  For a trace, the recorded and simulated runs are compared side by side.

    \b
    reclaimctl replay                                 the notes' incident on kernel-372
    reclaimctl replay --profile kernel-372-fixed      ... with the shrinker-bit fix
    reclaimctl replay kernel-372 --profile kernel-147 the recorded 372 calls, as 147 would run them
    reclaimctl replay my.toml --set swappiness=0 -o out/
    reclaimctl replay v3-swappiness --emit-text v3.trace   then: reclaimctl parse v3.trace
    """
    from .. import store
    from ..report.summary import print_run_summary
    from .stats_cmd import renderer, show_summary

    p = plan(source, profile, scenario, sets, seed)
    sim, wall = simulate(p, debug)
    tables = sim.tables()
    tables.meta.extra["replay"] = {"source": source or DEFAULT_SCENARIO, "scenario": p.scenario.name,
                                   "profile": p.profile.name, "overrides": list(p.profile.overrides)}
    where = out_dir
    if out_dir is None and not no_store:
        where = str(store.new_result(f"replay-{p.scenario.name}-{p.profile.name}"))
    if where:
        save_tables(tables, where)
        store.remember(where, f"replay {source or DEFAULT_SCENARIO} ({p.profile.name})")
    if emit_text:
        _emit(tables, emit_text)
    print_run_summary(p.label, p.profile, sim, tables, wall, where)
    out = renderer("table", None)
    show_summary(tables, out)
    if p.recorded is not None:
        from ..analysis.compare import compare

        df, test = compare(p.recorded, tables)
        out.show(df.head(20), f"recorded (A) vs simulated on {p.profile.name} (B)")
        out.note(f"episode latency, recorded vs simulated: {test.verdict}")
