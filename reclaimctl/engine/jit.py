"""The engine's jit decorator: compiled once, cached on disk (see :mod:`reclaimctl.jitcache`), each
function's code compiled once however deep in the call graph it sits (see :mod:`reclaimctl.jitlink`).

Every engine function takes the state as one ``StateRef`` (a numba StructRef): a single pointer
per call, so call sites and function prologues stay small.  Engine code never allocates: scratch
space lives in the state.
"""

from __future__ import annotations

from .. import jitcache  # noqa: F401  (sets the cache directory before anything is compiled)
from ..jitlink import linked_jit

# error_model="numpy": no ZeroDivisionError branches (the model never divides by zero; a bug that did
# would show in the debug invariants, not as an exception from deep inside the engine)
jit = linked_jit(widen_ints=True, error_model="numpy")
jit_inline = linked_jit(widen_ints=True, error_model="numpy", inline="always")
