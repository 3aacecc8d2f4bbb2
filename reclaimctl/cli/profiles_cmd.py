"""``reclaimctl profiles``: the kernel profiles of the reclaim model."""

from __future__ import annotations

import click

from .errors import UserError


@click.command("profiles")
@click.argument("names", nargs=-1)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch or cost (repeatable).")
def profiles(names: tuple[str, ...], sets: tuple[str, ...]) -> None:
    """List the kernel profiles; with NAME, show its switches and costs; with two NAMEs, show
    where they differ.  --set shows the effect of overrides, as `replay --set` will apply them."""
    import pandas as pd

    from ..engine.profiles import (
        COSTS,
        PROFILES,
        SWITCHES,
        ProfileError,
        differences,
        get,
        override,
    )
    from ..report.tables import Renderer

    out = Renderer()
    try:
        chosen = [override(get(n), sets) for n in names]
    except ProfileError as exc:
        raise UserError(str(exc)) from None
    if not chosen:
        out.show(pd.DataFrame([{"profile": p.name, "kernel": p.kernel, "what": p.description} for p in PROFILES.values()]),
                 "kernel profiles")
        return
    if len(chosen) == 1:
        p = chosen[0]
        out.note(f"{p.name}: {p.kernel}: {p.description}" + (f" (overrides: {', '.join(p.overrides)})" if p.overrides else ""))
        out.show(pd.DataFrame([{"switch": k, "value": str(v), "meaning": SWITCHES[k][1]} for k, v in p.switches.items()]),
                 "behaviour switches")
        out.show(pd.DataFrame([{"cost": k, "value": v, "unit": COSTS[k][1], "meaning": COSTS[k][2]}
                               for k, v in p.costs.items()]), "cost parameters")
        return
    if len(chosen) > 2:
        raise UserError("give one profile to show, or two to compare")
    a, b = chosen
    diff = differences(a, b)
    if not diff:
        out.note(f"{a.name} and {b.name} do not differ")
        return
    out.show(pd.DataFrame([{"key": k, a.name: str(va), b.name: str(vb)} for k, va, vb in diff]),
             f"where {a.name} and {b.name} differ")
