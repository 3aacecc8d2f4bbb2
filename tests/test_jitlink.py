"""reclaimctl.jitlink: each function's code compiled once, top-level functions complete and cached.

Each case runs in a fresh interpreter with its own numba cache, so that what is compiled, linked
and loaded is what a user's first and second runs see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent

PROBE = r"""
import json, sys
import jitlink_sample as m
out = {"top": m.top(5)}
try:
    m.top(-5)
except ValueError as e:
    out["raised"] = list(e.args)
lib = m.top.overloads[m.top.signatures[0]].library
out["top_kind"] = type(lib).__name__ + (":top" if getattr(lib, "toplevel", False) else "")
out["top_undefined"] = sorted(f.name for f in lib._get_module_for_linking().functions
                              if f.is_declaration and f.name.startswith("_ZN"))
out["compiled"] = {n: len(getattr(m, n).overloads) for n in ("leaf", "dead", "mid")}
if m.mid.overloads:
    mlib = m.mid.overloads[m.mid.signatures[0]].library
    out["mid_toplevel"] = mlib.toplevel
    out["mid_declares_leaf"] = any(f.is_declaration and "leaf" in f.name for f in mlib._final_module.functions)
    out["mid_defines_leaf"] = any(not f.is_declaration and "leaf" in f.name for f in mlib._final_module.functions)
    out["internal_machine_code"] = [n for n in ("leaf", "dead", "mid")
                                    if getattr(m, n).overloads[getattr(m, n).signatures[0]].library._finalized]
out["cached_files"] = sorted(p.name.split("-")[0] for p in __import__("pathlib").Path(sys.argv[1]).rglob("*.nbi"))
# Python now calls a function compiled as internal: it is compiled again, as a top-level one
out["mid_from_python"] = m.mid(2, False)
out["mid_overloads_after"] = len(m.mid.overloads)
out["mid_toplevel_after"] = getattr(m.mid.overloads[m.mid.signatures[0]].library, "toplevel", "cached")
# show's Environment must outlive show's internal compile result, which a Python call drops
import gc, numpy as np
a = np.array([3, 4, 5])
out["top_show"] = m.top_show(a, 1)
out["show_from_python"] = m.show(a, 1)
gc.collect()
out["top_show_printing"] = m.top_show(a, -1)
print(json.dumps(out))
"""


def _probe(cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(TESTS))
    out = subprocess.run([sys.executable, "-c", PROBE, str(cache)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    r["printed"] = [line for line in out.stdout.splitlines() if not line.startswith("{")]
    return r


def test_first_run_compiles_each_function_alone_and_the_top_level_whole(tmp_path):
    r = _probe(tmp_path)
    assert r["top"] == 5 + (16 + 19)  # dead(5) + mid(5, True) + check(5) - check_again(5)
    assert r["raised"] == ["negative", -5]  # an internal function's exception, with its arguments
    assert r["top_kind"] == "EngineLibrary:top"
    assert r["top_undefined"] == []  # every callee linked in, even one only a dead path called
    assert r["compiled"] == {"leaf": 1, "dead": 1, "mid": 1}
    assert r["mid_toplevel"] is False
    assert r["mid_declares_leaf"] and not r["mid_defines_leaf"]  # its own code only
    assert r["internal_machine_code"] == []  # IR only: no machine code, no Python wrapper
    assert r["cached_files"] == ["jitlink_sample.top"]  # internal functions are not cached
    assert r["mid_from_python"] == 7  # leaf(2), through a top-level compilation of mid
    assert r["mid_overloads_after"] == 1 and r["mid_toplevel_after"] is True
    assert (r["top_show"], r["show_from_python"], r["top_show_printing"]) == (8, 4, 4)
    assert r["printed"] == ["show [3 4]"]  # the array boxed through show's Environment, still alive


def test_second_run_loads_the_top_level_and_compiles_nothing(tmp_path):
    _probe(tmp_path)
    r = _probe(tmp_path)
    assert r["top"] == 40
    assert r["raised"] == ["negative", -5]
    assert r["compiled"] == {"leaf": 0, "dead": 0, "mid": 0}
    assert r["top_kind"] == "JITCodeLibrary"  # numba's own library, rebuilt from the cache
    assert r["top_undefined"] == []
    assert r["mid_from_python"] == 7 and r["mid_toplevel_after"] == "cached"  # mid's top-level, from the cache
