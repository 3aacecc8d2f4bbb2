"""Kernel profiles as data: the switches of the spec's feature matrix, the calibrated costs, and
overrides by name."""

from __future__ import annotations

import pytest
from conftest import run_cli

from reclaimctl.engine.profiles import PROFILES, ProfileError, differences, get, override


def test_the_four_profiles():
    assert list(PROFILES) == ["kernel-147", "kernel-372", "kernel-372-fixed", "upstream-6.6"]


@pytest.mark.parametrize("key,p147,p372,p66", [
    ("memcg_walk", "shared_cursor_early_stop", "full_walk", "full_walk"),
    ("nokmem_slab", "return_early", "walk_skip_keep_bit", "walk_skip_keep_bit"),
    ("memcg_charge_retries", 5, 16, 16),
    ("memcg_charge_batch", 32, 32, 64),
    ("min_free_kbytes_max", 65536, 262144, 262144),
    ("watermark_boost_factor", 0, 15000, 15000),
    ("swappiness_max", 100, 200, 200),
    ("new_anon_lru", "active", "inactive", "inactive"),
    ("inactive_check", "inactive_list_is_low", "inactive_is_low", "inactive_is_low"),
    ("throttle", "congestion_wait", "congestion_wait", "reclaim_throttle"),
    ("kswapd_file_writepage", True, True, False),
    ("slab_credit", "always", "always", "global_only"),
])
def test_switches_follow_the_feature_matrix(key, p147, p372, p66):
    assert (get("kernel-147")[key], get("kernel-372")[key], get("upstream-6.6")[key]) == (p147, p372, p66)


def test_372_fixed_differs_from_372_only_by_the_clear_bit():
    assert differences(get("kernel-372"), get("kernel-372-fixed")) == [
        ("nokmem_slab", "walk_skip_keep_bit", "walk_skip_clear_bit")]


def test_default_costs_reproduce_the_spec_calibration():
    p = get("kernel-372")
    # spec §7.6: T_slab = 500 memcgs x (c_slab_call + c_slab_entry + 600 bits x c_bit) = 12.1 ms per node walk
    t_slab = 500 * (p["c_slab_call"] + p["c_slab_entry"] + 600 * p["c_bit"])
    assert t_slab == pytest.approx(12.115e6)
    # and ~71 % of a 17.1 ms shrink_node once c_iter + c_visit + ~3 us of list work are added
    t_node = t_slab + 500 * (p["c_iter"] + p["c_visit"] + 3000)
    assert t_slab / t_node == pytest.approx(0.71, abs=0.01)


def test_overrides_by_name_and_their_errors():
    p = override(get("kernel-372"), ["profile.kmem=off", "c_bit=25", "memcg_charge_retries=8"])
    assert (p["kmem"], p["c_bit"], p["memcg_charge_retries"]) == (False, 25.0, 8)
    assert p.overrides == ("kmem=off", "c_bit=25", "memcg_charge_retries=8")
    assert get("kernel-372")["kmem"] is True  # the shipped profile is untouched
    for bad, msg in [("c_bit=-1", ">= 0"), ("kmem=maybe", "on/off"), ("nokmem_slab=x", "one of"),
                     ("c_bitt=3", "not a profile switch or cost"), ("kmem", "key=value")]:
        with pytest.raises(ProfileError, match=msg):
            override(get("kernel-147"), [bad])
    with pytest.raises(ProfileError, match="no profile"):
        get("kernel-999")


def test_profiles_command():
    assert "kernel-372-fixed" in run_cli("profiles").stdout
    proc = run_cli("profiles", "kernel-372", "kernel-372-fixed")
    assert proc.returncode == 0 and "nokmem_slab" in proc.stdout and "walk_skip_clear_bit" in proc.stdout
    bad = run_cli("profiles", "kernel-372", "--set", "c_bit=abc")
    assert bad.returncode != 0 and bad.stderr.strip() == "reclaimctl: error: c_bit: expected a number (ns), got 'abc'"
