"""Shared helpers for the ingestion tests.

Tests only read files inside the repository (``traces/``, ``benchmarks/``) and what they write
into ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import reclaimctl
from reclaimctl.events.tables import EventTables

REPO = Path(__file__).resolve().parents[1]
TRACES = REPO / "traces"
LOG_372 = TRACES / "kernel-372.log"
LOG_147 = TRACES / "kernel-147.log"
STAP_372 = TRACES / "kernel-372.stap"
STAP_147 = TRACES / "kernel-147.stap"
SAMPLES = (LOG_372, LOG_147, STAP_372, STAP_147)


def accounting_holds(meta) -> bool:  # type: ignore[no-untyped-def]
    """total = parsed + unknown_event + malformed + non_event, and non_event is its breakdown."""
    lines = meta.lines
    return (
        lines["total"] == lines["parsed"] + lines["unknown_event"] + lines["malformed"] + lines["non_event"]
        and lines["non_event"] == sum(meta.non_event.values())
    )


@pytest.fixture
def parse_text(tmp_path: Path) -> Callable[..., EventTables]:
    """Write ``text`` (str or bytes) to a file in tmp_path and parse it with ``reclaimctl.read``."""
    counter = iter(range(10_000))

    def _parse(text: str | bytes, name: str | None = None, **kw: object) -> EventTables:
        path = tmp_path / (name or f"trace-{next(counter)}.log")
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        tables = reclaimctl.read(str(path), **kw)  # type: ignore[arg-type]
        assert accounting_holds(tables.meta), tables.meta.lines
        return tables

    return _parse


def run_cli(*args: str, stdin: bytes | None = None, env: dict[str, str | None] | None = None,
            cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m reclaimctl ARGS`` as a user runs it (errors go through ``main()``).

    COLUMNS is set wide so rich tables do not cut names, unless ``env`` says otherwise."""
    full_env = dict(os.environ)
    full_env["COLUMNS"] = "250"
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    proc = subprocess.run(
        [sys.executable, "-m", "reclaimctl", *args], input=stdin if stdin is not None else b"",
        capture_output=True, env=full_env, cwd=str(cwd or REPO), timeout=600,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


def rows(tables: EventTables, name: str) -> list[dict]:
    return tables[name].to_pylist()


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """A user error: non-zero exit, one line on stderr, no traceback, nothing on stdout."""
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    err_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1, proc.stderr
    return err_lines[0]


@pytest.fixture(autouse=True)
def _private_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own result store (RECLAIMCTL_HOME), never the user's."""
    monkeypatch.setenv("RECLAIMCTL_HOME", str(tmp_path_factory.mktemp("store")))
