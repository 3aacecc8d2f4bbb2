"""reclaimctl.engine.state_index: element access on the state's arrays behaves as numpy indexing does,
and is typed by its own templates before numba's."""

from __future__ import annotations

import operator
import os
import subprocess
import sys

import numpy as np
import pytest
from numba.core import types
from numba.core.registry import cpu_target
from numba.core.target_extension import get_local_target
from numba.core.utils import order_by_target_specificity

from reclaimctl.engine import profiles
from reclaimctl.engine.api import Simulation
from reclaimctl.engine.jit import jit
from reclaimctl.engine.machine import MachineSpec
from reclaimctl.engine.state import StateArray
from reclaimctl.engine.state_index import StateArrayGetItem, StateArraySetItem


@jit
def _flags(st, page):
    return st.pg_flags[page]


@jit
def _sc(st, s, k):
    return st.sc[s, k]


@jit
def _set_sc(st, s, k, v):
    st.sc[s, k] = v


@jit
def _sc_row_sum(st, s):
    return st.sc[s].sum()  # a view: numba's own indexing


@pytest.fixture(scope="module")
def sim():
    return Simulation(MachineSpec(node_pages=4096, cpus_per_node=1), profiles.get("kernel-372"))


def test_element_reads_match_numpy(sim):
    st = sim.state
    st.pg_flags[:] = np.arange(st.pg_flags.size) * 7
    st.sc[1, :] = np.arange(st.sc.shape[1]) + 100
    assert _flags(sim.ref, 5) == 35
    assert _flags(sim.ref, -1) == st.pg_flags[-1]  # negative indices wrap, as in Python
    assert _sc(sim.ref, 1, 3) == 103
    assert _sc(sim.ref, 1, -1) == st.sc[1, -1]
    assert _sc(sim.ref, -st.sc.shape[0] + 1, 0) == 100
    assert _sc_row_sum(sim.ref, 1) == st.sc[1].sum()


def test_element_writes_convert_to_the_array_type(sim):
    st = sim.state
    _set_sc(sim.ref, 0, 4, 7)
    assert st.sc[0, 4] == 7
    _set_sc(sim.ref, 0, -1, 9)
    assert st.sc[0, -1] == 9
    _set_sc(sim.ref, -2, 5, 2.9)  # a float into an int64 array truncates, as numba's own setitem does
    assert st.sc[0, 5] == 2 and st.sc.dtype == np.int64


def test_state_templates_are_tried_before_numbas():
    tc = cpu_target.typing_context
    tc.refresh()
    for op, template in ((operator.getitem, StateArrayGetItem), (operator.setitem, StateArraySetItem)):
        fnty = tc.resolve_value_type(op)
        first = order_by_target_specificity(get_local_target(tc), fnty.templates, fnkey=op.__name__)[0]
        assert issubclass(first, template)
    ary = StateArray(types.int64, 2, "C")
    getitem = tc.resolve_value_type(operator.getitem)
    assert getitem.get_call_type(tc, (ary, types.UniTuple(types.int64, 2)), {}).return_type == types.int64
    # one index into a 2-d state array is a row: not ours, numba's template types the view
    assert isinstance(getitem.get_call_type(tc, (ary, types.int64), {}).return_type, types.Array)


BOUNDS = r"""
import numpy as np
from reclaimctl.engine.api import _unowned
from reclaimctl.engine.jit import jit

@jit
def get2(a, i, j):
    (s,) = _unowned((a,))
    return s[i, j]

a = np.arange(12, dtype=np.int64).reshape(3, 4)
out = [int(get2(a, np.int64(-1), np.uint64(3)))]
for i, j in ((np.int64(0), np.uint64(2**64 - 1)), (np.int64(3), np.uint64(0)), (np.int64(-4), np.uint64(0))):
    try:
        get2(a, i, j)
        out.append("read")
    except IndexError:
        out.append("IndexError")
print(out)
"""


def test_indices_wrap_one_by_one_and_bounds_are_checked_under_numba_boundscheck(tmp_path):
    # a signed index wraps when negative; an unsigned one never does, even next to a signed one
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    script = tmp_path / "bounds.py"  # a file: numba caches only functions defined in one
    script.write_text(BOUNDS)
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[11, 'IndexError', 'IndexError', 'IndexError']"
