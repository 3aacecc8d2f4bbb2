"""The engine's jit decorator: compiled once, cached on disk.

Every engine function takes the state as one ``StateRef`` (a numba StructRef): a single pointer
per call, so call sites and function prologues stay small.  Engine code never allocates: scratch
space lives in the state.

numba invalidates a cached function only when *its own* file changes, not when a function it calls
does, so an edited engine could run stale machine code.  The cache therefore lives in a directory
named after a digest of every engine source file (and the numba version): any change starts a fresh
cache, and older ones are removed.  ``$NUMBA_CACHE_DIR``, if set, is left alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numba
from numba import njit


def cache_root() -> Path:
    env = os.environ.get("RECLAIMCTL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reclaimctl"


def engine_digest() -> str:
    h = hashlib.sha256(numba.__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _use_engine_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = cache_root()
    here = root / f"numba-{engine_digest()}"
    try:
        here.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # no writable cache: numba falls back to __pycache__ next to the sources
    for old in root.glob("numba-*"):
        if old != here:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(here)


_use_engine_cache()

jit = njit(cache=True)
jit_inline = njit(cache=True, inline="always")
