"""Kernel profiles as data: behaviour switches and cost parameters of the reclaim model.

Each profile is a set of named switches (how the kernel behaves: spec §0.3, read in the RHEL 8.1
4.18.0-147, AlmaLinux 4.18.0-372 and v6.6 trees) and cost parameters (simulated nanoseconds per
operation: spec §7.6, calibrated on the incident notes).  The engine reads them by name; nothing in
the model branches on a profile's name.  Any value can be overridden with ``--set key=value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

# switch name -> (allowed values or a type, what it means)
SWITCHES: dict[str, tuple[tuple[Any, ...] | type, str]] = {
    "balance_input": (("recent_scanned_rotated", "anon_file_cost"),
                      "get_scan_count's anon/file balance: 147 recent_scanned/rotated, later anon_cost/file_cost"),
    "lru_cost": (("none", "written_refaulted", "io32_rotated"),
                 "what feeds anon_cost/file_cost: 372 pages written + refaults, 6.6 32 x IO pages + rotated"),
    "inactive_check": (("inactive_list_is_low", "inactive_is_low"),
                       "147 per-lruvec check with refault test and tracepoint; later decided once per shrink_node"),
    "cache_trim_mode": (bool, "skip anon while there is enough inactive file (372, 6.6)"),
    "memcg_walk": (("shared_cursor_early_stop", "full_walk"),
                   "shrink_node's memcg walk: 147 stops once the goal is met; 372/6.6 visit every memcg"),
    "memory_low_scaling": (bool, "memory.low/min scale the scan target proportionally (372, 6.6)"),
    "new_anon_lru": (("active", "inactive"), "where a new anonymous page starts"),
    "referenced_anon_on_inactive": (("activate", "look_twice"), "a referenced anon page met on the inactive list"),
    "workingset": (("file_only", "anon_file"), "refault detection: 147 file pages only"),
    "nokmem_slab": (("return_early", "walk_skip_keep_bit", "walk_skip_clear_bit"),
                    "shrink_slab_memcg under cgroup.memory=nokmem: 147 returns at once; 372/6.6 visit every set "
                    "bit and skip slab shrinkers keeping the bit; 372-fixed clears it"),
    "kmem": (bool, "memcg kmem accounting on (off = cgroup.memory=nokmem)"),
    "shrinker_deferred": (("per_node", "per_memcg_node"), "where nr_deferred lives for memcg-aware shrinkers"),
    "shrink_slab_formula": (("old", "new"), "do_shrink_slab's delta formula (spec §7.2 a/b)"),
    "throttle": (("congestion_wait", "reclaim_throttle"), "how reclaim waits: 4.18 congestion_wait, 6.6 reclaim_throttle"),
    "memcg_charge_retries": (int, "MEM_CGROUP_RECLAIM_RETRIES (147: 5) or MAX_RECLAIM_RETRIES (16)"),
    "memcg_charge_batch": (int, "MEMCG_CHARGE_BATCH, pages of per-CPU pre-charge"),
    "min_free_kbytes_max": (int, "upper clamp of the computed min_free_kbytes"),
    "watermark_boost_factor": (int, "0 = no watermark boost"),
    "swappiness_max": (int, "vm.swappiness range 0..max"),
    "young_pte_unmap_fails": (bool, "a young PTE at unmap time makes the unmap fail (147)"),
    "double_scan_mapped": (bool, "mapped/swapcache pages count twice in sc->nr_scanned (147)"),
    "slab_credit": (("always", "global_only"), "slab pages freed count in nr_reclaimed always, or only in global reclaim"),
    "proportional_cut": (("adjust_then_finish", "adjust_one_batch_stop"), "shrink_lruvec once nr_to_reclaim is met"),
    "kswapd_file_writepage": (bool, "kswapd may write dirty file pages (no in 6.6: ext4/xfs lack ->writepage)"),
    "nr_congested": (("dirty_or_writeback_congested", "writeback_reclaim_only"), "what nr_congested counts"),
    "trace_format": (("4.18-147", "4.18-372", "6.6"), "tracepoint formats the engine prints"),
}

# cost parameter -> (default, unit, meaning); spec §7.6, defaults chosen to reproduce the notes
COSTS: dict[str, tuple[float, str, str]] = {
    "c_iter": (1000, "ns", "one mem_cgroup_iter step"),
    "c_visit": (6000, "ns", "fixed work per visited (memcg, node)"),
    "c_list_call": (600, "ns", "per shrink_inactive/active_list call"),
    "c_isolate": (40, "ns", "per page examined in isolate"),
    "c_putback": (40, "ns", "per page put back"),
    "c_ref_unmapped": (30, "ns", "reference check of an unmapped page"),
    "c_rmap_base": (250, "ns", "reference check of a mapped page: base"),
    "c_rmap_per_map": (300, "ns", "reference check of a mapped page: per mapping"),
    "c_spl": (120, "ns", "shrink_page_list per-page overhead"),
    "c_free": (500, "ns", "remove from mapping, shadow, uncharge, free"),
    "c_unmap_per_map": (500, "ns", "unmap, per mapping"),
    "c_tlb_flush": (2000, "ns", "per TLB-flush batch"),
    "c_add_to_swap": (1500, "ns", "swap slot allocation and swapcache insert"),
    "c_writepage": (4000, "ns", "CPU cost to submit one page write"),
    "lat_swap_w": (200_000, "ns", "swap write completion latency (IO)"),
    "lat_file_w": (1_000_000, "ns", "file write completion latency (IO)"),
    "c_slab_call": (80, "ns", "shrink_slab call and dispatch"),
    "c_slab_entry": (150, "ns", "shrink_slab_memcg entry: online test, trylock, map lookup"),
    "c_slab_entry_contention": (150, "ns", "added to c_slab_entry per other concurrent reclaimer"),
    "c_bit": (40, "ns", "one set shrinker bit visited and skipped"),
    "c_bit_clear": (10, "ns", "extra when the bit is cleared"),
    "c_count": (200, "ns", "do_shrink_slab that only counts"),
    "c_shrink_base": (500, "ns", "do_shrink_slab that scans: base"),
    "c_obj": (150, "ns", "do_shrink_slab that scans: per object"),
    "c_probe": (0, "ns", "per-call kprobe+kretprobe overhead, to compare with systemtap (about 2000)"),
    "walk_jitter_p": (0.15, "probability", "chance that a memcg walk runs cache-cold"),
    "walk_jitter_factor": (2.5, "x", "cost factor of a cache-cold walk"),
}

_P147 = {
    "balance_input": "recent_scanned_rotated", "lru_cost": "none", "inactive_check": "inactive_list_is_low",
    "cache_trim_mode": False, "memcg_walk": "shared_cursor_early_stop", "memory_low_scaling": False,
    "new_anon_lru": "active", "referenced_anon_on_inactive": "activate", "workingset": "file_only",
    "nokmem_slab": "return_early", "kmem": True, "shrinker_deferred": "per_node", "shrink_slab_formula": "old",
    "throttle": "congestion_wait", "memcg_charge_retries": 5, "memcg_charge_batch": 32,
    "min_free_kbytes_max": 65536, "watermark_boost_factor": 0, "swappiness_max": 100,
    "young_pte_unmap_fails": True, "double_scan_mapped": True, "slab_credit": "always",
    "proportional_cut": "adjust_then_finish", "kswapd_file_writepage": True,
    "nr_congested": "dirty_or_writeback_congested", "trace_format": "4.18-147",
}
_P372 = {
    **_P147,
    "balance_input": "anon_file_cost", "lru_cost": "written_refaulted", "inactive_check": "inactive_is_low",
    "cache_trim_mode": True, "memcg_walk": "full_walk", "memory_low_scaling": True, "new_anon_lru": "inactive",
    "referenced_anon_on_inactive": "look_twice", "workingset": "anon_file", "nokmem_slab": "walk_skip_keep_bit",
    "shrinker_deferred": "per_memcg_node", "shrink_slab_formula": "new", "memcg_charge_retries": 16,
    "min_free_kbytes_max": 262144, "watermark_boost_factor": 15000, "swappiness_max": 200,
    "young_pte_unmap_fails": False, "double_scan_mapped": False, "trace_format": "4.18-372",
}
_P66 = {
    **_P372,
    "lru_cost": "io32_rotated", "throttle": "reclaim_throttle", "memcg_charge_batch": 64,
    "slab_credit": "global_only", "proportional_cut": "adjust_one_batch_stop", "kswapd_file_writepage": False,
    "nr_congested": "writeback_reclaim_only", "trace_format": "6.6",
}


@dataclass(frozen=True)
class Profile:
    name: str
    kernel: str
    description: str
    switches: Mapping[str, Any]
    costs: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({k: v[0] for k, v in COSTS.items()}))
    overrides: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return self.switches[key] if key in self.switches else self.costs[key]

    def items(self) -> list[tuple[str, Any]]:
        return [*self.switches.items(), *self.costs.items()]


def _profile(name: str, kernel: str, description: str, switches: dict[str, Any]) -> Profile:
    return Profile(name, kernel, description, MappingProxyType(dict(switches)))


PROFILES: dict[str, Profile] = {
    p.name: p for p in (
        _profile("kernel-147", "RHEL 8.1 4.18.0-147.5.1",
                 "4.18 with the 4.19 per-memcg shrinker bitmap; nokmem returns from shrink_slab_memcg at once",
                 _P147),
        _profile("kernel-372", "RHEL 8.6 4.18.0-372.9.1",
                 "4.18 with ~5.10 reclaim backported; nokmem walks every set shrinker bit and keeps it", _P372),
        _profile("kernel-372-fixed", "RHEL 8.6 4.18.0-372 + the notes' fix",
                 "as kernel-372, but a slab shrinker skipped because kmem is off has its bit cleared",
                 {**_P372, "nokmem_slab": "walk_skip_clear_bit"}),
        _profile("upstream-6.6", "v6.6.0 (classic two-list LRU)",
                 "anon/file cost 32 x IO + rotated, reclaim_throttle, nokmem walk keeps bits like 372", _P66),
    )
}


class ProfileError(ValueError):
    """A profile name or an override that does not exist or does not fit: one line for the user."""


def get(name: str) -> Profile:
    key = name.removeprefix("profile:")
    if key not in PROFILES:
        raise ProfileError(f"no profile {key!r}; profiles: {', '.join(PROFILES)}")
    return PROFILES[key]


def _parse(key: str, text: str) -> Any:
    if key in SWITCHES:
        kind = SWITCHES[key][0]
        if kind is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ProfileError(f"{key}: expected on/off (or true/false), got {text!r}")
        if kind is int:
            try:
                return int(text)
            except ValueError:
                raise ProfileError(f"{key}: expected an integer, got {text!r}") from None
        assert isinstance(kind, tuple)
        if text not in kind:
            raise ProfileError(f"{key}: expected one of {', '.join(map(str, kind))}, got {text!r}")
        return text
    try:
        value = float(text)
    except ValueError:
        raise ProfileError(f"{key}: expected a number ({COSTS[key][1]}), got {text!r}") from None
    if value < 0:
        raise ProfileError(f"{key}: expected a number >= 0, got {text!r}")
    return value


def override(profile: Profile, assignments: Iterable[str]) -> Profile:
    """``profile`` with ``key=value`` assignments applied (``profile.`` prefixes are accepted)."""
    switches = dict(profile.switches)
    costs = dict(profile.costs)
    done = list(profile.overrides)
    for a in assignments:
        key, sep, text = a.partition("=")
        key = key.strip().removeprefix("profile.")
        if not sep:
            raise ProfileError(f"{a!r}: expected key=value")
        if key in SWITCHES:
            switches[key] = _parse(key, text.strip())
        elif key in COSTS:
            costs[key] = _parse(key, text.strip())
        else:
            near = [k for k in (*SWITCHES, *COSTS) if key[:4] in k][:5]
            hint = f" (did you mean {', '.join(near)}?)" if near else " (`reclaimctl profiles NAME` lists them)"
            raise ProfileError(f"{key}: not a profile switch or cost{hint}")
        done.append(f"{key}={text.strip()}")
    return replace(profile, switches=MappingProxyType(switches), costs=MappingProxyType(costs),
                   overrides=tuple(done))


def differences(a: Profile, b: Profile) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every switch or cost that differs."""
    return [(k, va, b[k]) for k, va in a.items() if b[k] != va]
