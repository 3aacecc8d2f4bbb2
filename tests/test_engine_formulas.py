"""Kernel formulas of the engine, against hand-computed answers (spec §2.1, §5.3)."""

from __future__ import annotations

import pytest

from reclaimctl.engine import params, profiles
from reclaimctl.engine.page_alloc import (
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
)
from reclaimctl.engine.shrink_lruvec import inactive_ratio


def test_v1_watermarks_of_a_4m_page_zone():
    # 4 000 000 pages of 4 KiB: int_sqrt(16 000 000 * 16) = 16 000 kB -> min 4 000, tmp 4 000
    mfk = calculate_min_free_kbytes(4_000_000, 12, 65536)
    assert mfk == 16_000
    assert setup_per_zone_wmarks([4_000_000], mfk, 12) == [(4_000, 8_000, 12_000)]


def test_min_free_kbytes_clamps_differ_per_profile():
    big = 1 << 30  # pages: 4 TiB of 4 KiB pages -> sqrt(4 TiB in kB * 16) = 8 388 608, clamped
    assert calculate_min_free_kbytes(big, 12, profiles.get("kernel-147")["min_free_kbytes_max"]) == 65536
    assert calculate_min_free_kbytes(big, 12, profiles.get("kernel-372")["min_free_kbytes_max"]) == 262144
    assert calculate_min_free_kbytes(10, 12, 65536) == 128


def test_watermarks_split_min_by_zone_size_and_use_scale_factor():
    # two zones 1:3 of 1 000 000 pages, min_free_kbytes 8 000 -> pages_min 2 000 split 500 / 1 500;
    # tmp = max(min/4, managed * 10 / 10000) = max(125, 250) and max(375, 750)
    assert setup_per_zone_wmarks([250_000, 750_000], 8_000, 12) == [(500, 750, 1_000), (1_500, 2_250, 3_000)]


def test_lowmem_reserve_of_dma32_below_normal():
    # DMA32 (ratio 256) below a Normal zone of 2 560 000 pages reserves 10 000 pages for Normal-capable requests
    res = setup_per_zone_lowmem_reserve([1, 2], [1_000_000, 2_560_000])
    assert res[0][2] == 10_000
    assert res[1] == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("size_bytes,ratio", [
    (10 << 20, 1), (100 << 20, 1), (1 << 30, 3), (10 << 30, 10), (100 << 30, 31), (1 << 40, 101), (10 << 40, 320),
])
def test_inactive_ratio_table(size_bytes, ratio):  # the jitted rule inactive_list_is_low and inactive_is_low use
    for page_shift in (12, 16):
        assert inactive_ratio(size_bytes >> page_shift, page_shift) == ratio


def test_switch_constants_match_the_profile_tables():
    names = list(profiles.SWITCHES)
    for name in names:
        assert getattr(params, "SW_" + name.upper()) == names.index(name)
    assert len(names) == params.SW_N
    costs = list(profiles.COSTS)
    for name in costs:
        const = name.upper() if name.startswith(("lat_", "walk_")) else "C_" + name.upper()[2:]
        assert getattr(params, const) == costs.index(name), name
    assert len(costs) == params.C_N
