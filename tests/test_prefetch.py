"""reclaimctl.engine.prefetch: the hint reaches the machine code and changes nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.errors import TypingError

from reclaimctl.engine.jit import jit
from reclaimctl.engine.prefetch import prefetch


@jit
def _sum_with_prefetch(a, ahead):
    total = 0
    for i in range(a.shape[0]):
        if i + ahead < a.shape[0]:
            prefetch(a, i + ahead)
        total += a[i]
    return total


@jit
def _prefetch_2d(a):
    prefetch(a, 0)


def test_prefetch_is_emitted_and_leaves_results_alone():
    a = np.arange(1000, dtype=np.int64)
    assert _sum_with_prefetch(a, 8) == a.sum()
    (sig,) = _sum_with_prefetch.signatures
    assert "@llvm.prefetch" in _sum_with_prefetch.inspect_llvm(sig)


def test_prefetch_takes_only_a_contiguous_1d_array_and_an_integer():
    with pytest.raises(TypingError):
        _prefetch_2d(np.zeros((2, 2)))
