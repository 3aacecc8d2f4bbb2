"""Where numba caches the compiled parser and engine, and when that cache is stale.

numba invalidates a cached function only when *its own* file changes, not when a function it calls
does, so an edited engine could run stale machine code.  The cache therefore lives in a directory
named after a digest of every module with jitted code (and the modules whose constants they read,
and the numba version): any change to them starts a fresh cache, and caches unused for a day are
removed.  ``$NUMBA_CACHE_DIR``, if set, is left alone.  Import this module before defining jitted
functions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba

PACKAGE = Path(__file__).parent
CONSTANT_MODULES = ("engine/jit.py", "engine/params.py", "engine/state.py")  # globals numba freezes
COMPILER_MODULES = ("jitlink.py", "engine/state_index.py", "engine/prefetch.py")  # how code is compiled
STANDALONE = ("engine/api.py",)  # jitted code that calls no other function of ours


def cache_root() -> Path:
    env = os.environ.get("RECLAIMCTL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reclaimctl"


def digest() -> str:
    h = hashlib.sha256(numba.__version__.encode())
    for path in sorted([*PACKAGE.glob("engine/*.py"), *PACKAGE.glob("ingest/*.py"),
                        *(PACKAGE / m for m in COMPILER_MODULES)]):
        text = path.read_bytes()
        rel = path.relative_to(PACKAGE).as_posix()
        if rel not in STANDALONE and (b"@jit" in text or b"@njit" in text
                                      or rel in CONSTANT_MODULES + COMPILER_MODULES):
            h.update(rel.encode())
            h.update(text)
    return h.hexdigest()[:16]


def _use_cache_dir() -> None:
    if os.environ.get("NUMBA_CACHE_DIR") or numba.config.CACHE_DIR:
        return
    root = cache_root()
    here = root / f"numba-{digest()}"
    try:
        here.mkdir(parents=True, exist_ok=True)
        os.utime(here)  # in use
    except OSError:
        return  # no writable cache: numba falls back to __pycache__ next to the sources
    now = time.time()
    for old in root.glob("numba-*"):  # caches of other versions, unused for a day
        try:
            stale = old != here and now - old.stat().st_mtime > 86_400
        except OSError:
            continue
        if stale:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(here)


def engine_is_cold() -> bool:
    """True when the engine has not been compiled into the cache yet (the first run takes minutes)."""
    d = numba.config.CACHE_DIR
    if not d or not os.path.isdir(d):
        return False  # numba's own __pycache__ (or $NUMBA_CACHE_DIR): nothing to tell
    return not any(Path(d).rglob("*engine_entry*.nbi"))


_use_cache_dir()
