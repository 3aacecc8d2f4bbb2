"""The ``reclaimctl`` command: a click group whose subcommands load their modules on first use,
so ``reclaimctl --help`` answers without importing numba, pyarrow or pandas."""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module, attribute, one-line help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "parse": ("reclaimctl.cli.parse_cmd", "parse", "Parse a trace into typed event tables (Parquet) and summarize it."),
    "events": ("reclaimctl.cli.events_cmd", "events", "List the events the registry knows, or show one's fields and formats."),
    "stats": ("reclaimctl.cli.stats_cmd", "stats", "Reclaim statistics: summary, per-cpu, per-priority, episodes, latency, slab, kswapd, writeback."),
    "compare": ("reclaimctl.cli.compare_cmd", "compare", "Compare two traces, or two kernel profiles on the same workload (baseline A, new B)."),
    "profiles": ("reclaimctl.cli.profiles_cmd", "profiles", "Kernel profiles of the reclaim model: list, show, differences."),
    "replay": ("reclaimctl.cli.replay_cmd", "replay", "Run the reclaim model on a scenario or a trace's reclaim calls (default: the notes' incident)."),
    "scenarios": ("reclaimctl.cli.scenarios_cmd", "scenarios", "List the shipped scenarios, or show one."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reclaimctl")
def cli() -> None:
    """Parse, replay and report on Linux page reclaim (vmscan) traces.

    \b
    reclaimctl replay                    the notes' incident, simulated on kernel-372
    reclaimctl compare kernel-147 kernel-372 --scenario incident   the same, kernel vs kernel
    reclaimctl parse kernel-372          parse the shipped sample of the notes
    reclaimctl parse trace.log -o out/   write one Parquet file per event
    cat /sys/kernel/tracing/trace_pipe | reclaimctl parse - -o live/
    """


def main() -> None:
    from .errors import run

    run(cli)


if __name__ == "__main__":
    sys.exit(main())
