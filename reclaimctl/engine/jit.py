"""The engine's jit decorator: compiled once, cached on disk (see :mod:`reclaimctl.jitcache`).

Every engine function takes the state as one ``StateRef`` (a numba StructRef): a single pointer
per call, so call sites and function prologues stay small.  Engine code never allocates: scratch
space lives in the state.
"""

from __future__ import annotations

from numba import njit

from .. import jitcache  # noqa: F401  (sets the cache directory before anything is compiled)

jit = njit(cache=True)
jit_inline = njit(cache=True, inline="always")
