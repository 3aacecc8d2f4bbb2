"""The engine's jit decorator: compiled once, cached on disk.

Every engine function takes the state as one ``StateRef`` (a numba StructRef): a single pointer
per call, so call sites and function prologues stay small.  Engine code never allocates: scratch
space lives in the state.

numba invalidates a cached function only when *its own* file changes, not when a function it calls
does, so an edited engine could run stale machine code.  The cache therefore lives in a directory
named after a digest of the engine's compiled sources (and the numba version): any change to them
starts a fresh cache, and caches unused for a day are removed.  ``$NUMBA_CACHE_DIR``, if set, is left alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba
from numba import njit


def cache_root() -> Path:
    env = os.environ.get("RECLAIMCTL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reclaimctl"


CONSTANT_MODULES = ("jit.py", "params.py", "state.py")  # globals numba freezes into compiled code


def engine_digest() -> str:
    """Digest of the files compiled code depends on: every module with jitted functions, and the
    modules whose constants they read."""
    h = hashlib.sha256(numba.__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        text = path.read_bytes()
        if b"@jit" in text or path.name in CONSTANT_MODULES:
            h.update(path.name.encode())
            h.update(text)
    return h.hexdigest()[:16]


def _use_engine_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = cache_root()
    here = root / f"numba-{engine_digest()}"
    try:
        here.mkdir(parents=True, exist_ok=True)
        os.utime(here)  # in use
    except OSError:
        return  # no writable cache: numba falls back to __pycache__ next to the sources
    now = time.time()
    for old in root.glob("numba-*"):  # caches of other engine versions, unused for a day
        try:
            stale = old != here and now - old.stat().st_mtime > 86_400
        except OSError:
            continue
        if stale:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(here)


_use_engine_cache()

jit = njit(cache=True)
jit_inline = njit(cache=True, inline="always")
