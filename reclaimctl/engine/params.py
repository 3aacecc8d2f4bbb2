"""Profile switches and costs as numbers the jitted model reads: ``sw[SW_x]`` and ``cost[C_x]``.

A switch's code is the index of its value in the allowed tuple of :data:`profiles.SWITCHES` (bools
are 0/1, ints are themselves).  The constants below name those indices; ``tests/test_engine_params``
checks them against ``profiles.SWITCHES`` and ``profiles.COSTS`` so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from .profiles import COSTS, SWITCHES, Profile

# switch indices (order of profiles.SWITCHES)
SW_BALANCE_INPUT = 0
SW_LRU_COST = 1
SW_INACTIVE_CHECK = 2
SW_CACHE_TRIM_MODE = 3
SW_MEMCG_WALK = 4
SW_MEMORY_LOW_SCALING = 5
SW_NEW_ANON_LRU = 6
SW_REFERENCED_ANON_ON_INACTIVE = 7
SW_WORKINGSET = 8
SW_NOKMEM_SLAB = 9
SW_KMEM = 10
SW_SHRINKER_DEFERRED = 11
SW_SHRINK_SLAB_FORMULA = 12
SW_THROTTLE = 13
SW_MEMCG_CHARGE_RETRIES = 14
SW_MEMCG_CHARGE_BATCH = 15
SW_MIN_FREE_KBYTES_MAX = 16
SW_WATERMARK_BOOST_FACTOR = 17
SW_SWAPPINESS_MAX = 18
SW_YOUNG_PTE_UNMAP_FAILS = 19
SW_DOUBLE_SCAN_MAPPED = 20
SW_SLAB_CREDIT = 21
SW_PROPORTIONAL_CUT = 22
SW_KSWAPD_FILE_WRITEPAGE = 23
SW_NR_CONGESTED = 24
SW_TRACE_FORMAT = 25
SW_N = 26

# switch value codes
BALANCE_RECENT_SCANNED_ROTATED, BALANCE_ANON_FILE_COST = 0, 1
LRU_COST_NONE, LRU_COST_WRITTEN_REFAULTED, LRU_COST_IO32_ROTATED = 0, 1, 2
CHECK_INACTIVE_LIST_IS_LOW, CHECK_INACTIVE_IS_LOW = 0, 1
WALK_SHARED_CURSOR_EARLY_STOP, WALK_FULL = 0, 1
NEW_ANON_ACTIVE, NEW_ANON_INACTIVE = 0, 1
REF_ANON_ACTIVATE, REF_ANON_LOOK_TWICE = 0, 1
WORKINGSET_FILE_ONLY, WORKINGSET_ANON_FILE = 0, 1
NOKMEM_RETURN_EARLY, NOKMEM_WALK_SKIP_KEEP_BIT, NOKMEM_WALK_SKIP_CLEAR_BIT = 0, 1, 2
DEFERRED_PER_NODE, DEFERRED_PER_MEMCG_NODE = 0, 1
SLAB_FORMULA_OLD, SLAB_FORMULA_NEW = 0, 1
THROTTLE_CONGESTION_WAIT, THROTTLE_RECLAIM_THROTTLE = 0, 1
SLAB_CREDIT_ALWAYS, SLAB_CREDIT_GLOBAL_ONLY = 0, 1
CUT_ADJUST_THEN_FINISH, CUT_ADJUST_ONE_BATCH_STOP = 0, 1
CONGESTED_DIRTY_OR_WB, CONGESTED_WB_RECLAIM_ONLY = 0, 1
FMT_147, FMT_372, FMT_66 = 0, 1, 2

# cost indices (order of profiles.COSTS)
C_ITER = 0
C_VISIT = 1
C_LIST_CALL = 2
C_ISOLATE = 3
C_PUTBACK = 4
C_REF_UNMAPPED = 5
C_RMAP_BASE = 6
C_RMAP_PER_MAP = 7
C_SPL = 8
C_FREE = 9
C_UNMAP_PER_MAP = 10
C_TLB_FLUSH = 11
C_ADD_TO_SWAP = 12
C_WRITEPAGE = 13
LAT_SWAP_W = 14
LAT_FILE_W = 15
C_SLAB_CALL = 16
C_SLAB_ENTRY = 17
C_SLAB_ENTRY_CONTENTION = 18
C_BIT = 19
C_BIT_CLEAR = 20
C_COUNT = 21
C_SHRINK_BASE = 22
C_OBJ = 23
C_PROBE = 24
WALK_JITTER_P = 25
WALK_JITTER_FACTOR = 26
C_N = 27


def switch_code(name: str, value: object) -> int:
    kind = SWITCHES[name][0]
    if kind is bool or kind is int:
        return int(value)  # type: ignore[call-overload]
    assert isinstance(kind, tuple)
    return kind.index(value)


def encode(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """(sw, cost) arrays for the jitted model."""
    sw = np.array([switch_code(k, profile.switches[k]) for k in SWITCHES], dtype=np.int64)
    cost = np.array([float(profile.costs[k]) for k in COSTS], dtype=np.float64)
    return sw, cost
