"""vmscan tracepoints (include/trace/events/vmscan.h), 2.6.36 to 6.x.

Formats were read from kernel trees (Android 3.4, RHEL 8 4.18.0-147/-372, v6.6, linux-next) and
LTTng's version matrix; see docs in the README for where a range is inferred.  Column names are the
labels the kernel prints; renamed labels are aliases of one column:

* ``classzone_idx`` (4.8-5.1 begin events), ``classzone`` (lru_isolate, kept "for ABI" after the
  5.8 rename) and ``highest_zoneidx`` all fill ``highest_zoneidx``.
* ``nr_activate`` (4.11-5.1) is kept as printed; ``nr_activate_anon``/``nr_activate_file`` (5.2+)
  are kept as printed; the decoder fills the other form (the total, or the split by list type).
* ``usect_delayed`` (the typo the kernel still prints) fills ``usec_delayed``.
"""

from __future__ import annotations

from .schema import I32, I64, PTR, STR, Derived, Event, Field, Variant

RECLAIM_FLAGS_DERIVED = (
    Derived("is_file", "bool", "RECLAIM_WB_FILE (true) or RECLAIM_WB_ANON (false); null if MIXED/NONE"),
    Derived("is_sync", "bool", "RECLAIM_WB_SYNC (true) or RECLAIM_WB_ASYNC (false)"),
)
GFP_DERIVED = (
    Derived("gfp_io", "bool", "__GFP_IO: may start physical IO"),
    Derived("gfp_fs", "bool", "__GFP_FS: may call into the filesystem"),
    Derived("gfp_direct_reclaim", "bool", "__GFP_DIRECT_RECLAIM (__GFP_WAIT before 4.4)"),
    Derived("gfp_kswapd_reclaim", "bool", "__GFP_KSWAPD_RECLAIM: may wake kswapd"),
    Derived("gfp_movable", "bool", "__GFP_MOVABLE"),
    Derived("gfp_highmem", "bool", "__GFP_HIGHMEM"),
    Derived("gfp_account", "bool", "__GFP_ACCOUNT: charged to the memcg as kmem"),
    Derived("gfp_nofail", "bool", "__GFP_NOFAIL"),
)


def _f(name: str, typ: str = I64, *keys: str, doc: str = "") -> Field:
    return Field(name, typ, tuple(keys), doc)


def _v(since: str, until: str | None, keys: str, **kw: object) -> Variant:
    return Variant(since, until, tuple(keys.split()), **kw)  # type: ignore[arg-type]


def _vp(since: str, until: str | None, labels: str, **kw: object) -> Variant:
    """A variant of a prose-format event: labels separated by ``|`` (they contain spaces)."""
    return Variant(since, until, tuple(labels.split("|")), **kw)  # type: ignore[arg-type]


NID = _f("nid", I32)
ORDER = _f("order", I32)
GFP = _f("gfp_flags", STR, doc="gfp mask as printed by show_gfp_flags()")
PRIORITY = _f("priority", I32, doc="sc->priority: 12 (DEF_PRIORITY) down to 0")
RFLAGS = _f("flags", STR, doc="show_reclaim_flags(): RECLAIM_WB_{ANON,FILE,MIXED}|RECLAIM_WB_{SYNC,ASYNC}")
ZONEIDX = _f(
    "highest_zoneidx", I32, "classzone_idx", "classzone", "highest_zoneidx",
    doc="highest zone index the request may use (sc->reclaim_idx for isolate)",
)

_BEGIN_FIELDS = (ORDER, _f("may_writepage", I32), GFP, ZONEIDX)
_BEGIN_VARIANTS = (
    _v("2.6.36", "4.7", "order may_writepage gfp_flags"),
    _v("4.8", "5.1", "order may_writepage gfp_flags classzone_idx"),
    _v("5.2", None, "order gfp_flags", vendors=("rhel8-305",)),
)
_END_FIELDS = (_f("nr_reclaimed", I64),)
_END_VARIANTS = (_v("2.6.36", None, "nr_reclaimed"),)


def _begin(name: str, doc: str) -> Event:
    return Event(name, "vmscan", _BEGIN_FIELDS, _BEGIN_VARIANTS, doc, decoders=("gfp",), derived=GFP_DERIVED)


def _end(name: str, doc: str) -> Event:
    return Event(name, "vmscan", _END_FIELDS, _END_VARIANTS, doc)


_ISOLATE_FIELDS = (
    _f("isolate_mode", I32, doc="isolate_mode_t bits; 1/2 = ISOLATE_INACTIVE/ACTIVE before 3.3"),
    ZONEIDX,
    ORDER,
    _f("nr_requested", I64),
    _f("nr_scanned", I64),
    _f("nr_skipped", I64, doc="pages of zones above reclaim_idx (4.11+)"),
    _f("nr_taken", I64),
    _f("contig_taken", I64, doc="lumpy reclaim (2.6.36-3.4)"),
    _f("contig_dirty", I64),
    _f("contig_failed", I64),
    _f("file", I32, doc="printed before 4.11 instead of lru="),
    _f("lru", STR, doc="inactive_anon, active_anon, inactive_file, active_file, unevictable (4.11+)"),
)
_ISOLATE_VARIANTS = (
    _v("2.6.36", "3.2", "isolate_mode order nr_requested nr_scanned nr_taken contig_taken contig_dirty contig_failed"),
    _v("3.3", "3.4", "isolate_mode order nr_requested nr_scanned nr_taken contig_taken contig_dirty contig_failed file"),
    _v("3.5", "4.7", "isolate_mode order nr_requested nr_scanned nr_taken file"),
    _v("4.8", "4.10", "isolate_mode classzone order nr_requested nr_scanned nr_taken file"),
    _v("4.11", "6.6", "isolate_mode classzone order nr_requested nr_scanned nr_skipped nr_taken lru"),
    _v("6.7", None, "classzone order nr_requested nr_scanned nr_skipped nr_taken lru"),
)
_LRU_DERIVED = (
    Derived("is_file", "bool", "the list is a file LRU"),
    Derived("is_active", "bool", "the list is an active LRU (null before 4.11)"),
)

_SLAB_POS = (
    Field("shrink", STR, doc="the shrinker's scan function, %pS (e.g. super_cache_scan+0x0/0x1a0)", positional=True),
    Field("shr", PTR, doc="struct shrinker pointer (%p, hashed from 4.15)", positional=True),
)

EVENTS: tuple[Event, ...] = (
    Event("mm_vmscan_kswapd_sleep", "vmscan", (NID,), (_v("2.6.36", None, "nid"),), "kswapd goes to sleep"),
    Event(
        "mm_vmscan_kswapd_wake", "vmscan", (NID, _f("zid", I32), ORDER),
        (
            _v("2.6.36", "4.7", "nid order"),
            _v("4.8", "5.1", "nid zid order"),
            _v("5.2", None, "nid order", note="zid recorded but not printed"),
        ),
        "kswapd starts a balance_pgdat run",
    ),
    Event(
        "mm_vmscan_wakeup_kswapd", "vmscan", (NID, _f("zid", I32), ORDER, GFP),
        (
            _v("2.6.36", "4.15", "nid zid order"),
            _v("4.16", "5.1", "nid zid order gfp_flags"),
            _v("5.2", None, "nid order gfp_flags", note="zid recorded but not printed"),
        ),
        "an allocation wakes kswapd", decoders=("gfp",), derived=GFP_DERIVED,
    ),
    _begin("mm_vmscan_direct_reclaim_begin", "try_to_free_pages entry"),
    _end("mm_vmscan_direct_reclaim_end", "try_to_free_pages return"),
    _begin("mm_vmscan_memcg_reclaim_begin", "try_to_free_mem_cgroup_pages entry"),
    _end("mm_vmscan_memcg_reclaim_end", "try_to_free_mem_cgroup_pages return"),
    _begin("mm_vmscan_memcg_softlimit_reclaim_begin", "mem_cgroup_shrink_node (soft limit) entry"),
    _end("mm_vmscan_memcg_softlimit_reclaim_end", "mem_cgroup_shrink_node return"),
    Event(
        "mm_vmscan_node_reclaim_begin", "vmscan", (NID, ORDER, GFP),
        (_v("5.2", None, "nid order gfp_flags", vendors=("rhel8-305",)),),
        "__node_reclaim entry (zone_reclaim_mode)", decoders=("gfp",), derived=GFP_DERIVED,
    ),
    _end("mm_vmscan_node_reclaim_end", "__node_reclaim return"),
    Event(
        "mm_vmscan_lru_isolate", "vmscan", _ISOLATE_FIELDS, _ISOLATE_VARIANTS,
        "isolate_lru_pages: a batch taken off one LRU list", decoders=("lru",), derived=_LRU_DERIVED,
    ),
    Event(
        "mm_vmscan_memcg_isolate", "vmscan", _ISOLATE_FIELDS, _ISOLATE_VARIANTS[:4],
        "memcg LRU isolation (2.6.36-4.10; merged into lru_isolate)", decoders=("lru",), derived=_LRU_DERIVED,
    ),
    Event(
        "mm_vmscan_lru_shrink_inactive", "vmscan",
        (
            NID,
            _f("zid", I32, doc="printed until 4.7"),
            _f("nr_scanned"), _f("nr_reclaimed"), _f("nr_dirty"), _f("nr_writeback"),
            _f("nr_congested"), _f("nr_immediate"),
            _f("nr_activate", doc="pages activated: printed 4.11-5.1, the sum of the split from 5.2"),
            _f("nr_activate_anon", doc="printed from 5.2; before, derived from nr_activate and flags"),
            _f("nr_activate_file", doc="printed from 5.2; before, derived from nr_activate and flags"),
            _f("nr_ref_keep"), _f("nr_unmap_fail"),
            PRIORITY, RFLAGS,
        ),
        (
            _v("2.6.36", "4.7", "nid zid nr_scanned nr_reclaimed priority flags"),
            _v("4.8", "4.10", "nid nr_scanned nr_reclaimed priority flags"),
            _v("4.11", "5.1", "nid nr_scanned nr_reclaimed nr_dirty nr_writeback nr_congested nr_immediate "
               "nr_activate nr_ref_keep nr_unmap_fail priority flags"),
            _v("5.2", None, "nid nr_scanned nr_reclaimed nr_dirty nr_writeback nr_congested nr_immediate "
               "nr_activate_anon nr_activate_file nr_ref_keep nr_unmap_fail priority flags",
               vendors=("rhel8-305",)),
        ),
        "shrink_inactive_list result", decoders=("reclaim_flags", "activate_split"), derived=RECLAIM_FLAGS_DERIVED,
    ),
    Event(
        "mm_vmscan_lru_shrink_active", "vmscan",
        (NID, _f("nr_taken"), _f("nr_active"), _f("nr_deactivated"), _f("nr_referenced"), PRIORITY, RFLAGS),
        (_v("4.11", None, "nid nr_taken nr_active nr_deactivated nr_referenced priority flags"),),
        "shrink_active_list result", decoders=("reclaim_flags",), derived=RECLAIM_FLAGS_DERIVED,
    ),
    Event(
        "mm_vmscan_inactive_list_is_low", "vmscan",
        (NID, _f("reclaim_idx", I32), _f("total_inactive"), _f("inactive"), _f("total_active"),
         _f("active"), _f("ratio"), RFLAGS),
        (
            _v("4.11", "5.7", "nid reclaim_idx total_inactive inactive total_active active ratio flags"),
            _v("4.9", "4.9", "nid total_inactive inactive total_active active ratio flags", note="debug patch"),
        ),
        "inactive_list_is_low check (flags masked to the LRU type, no SYNC/ASYNC bit)",
        decoders=("reclaim_flags",), derived=RECLAIM_FLAGS_DERIVED,
    ),
    Event(
        "mm_vmscan_writepage", "vmscan",
        (_f("page", PTR, doc="struct page pointer, hashed from 4.15"), _f("pfn"), RFLAGS),
        (
            _v("2.6.36", "5.13", "page pfn flags"),
            _v("5.14", "5.17", "page pfn flags", hex=("pfn",)),
            _v("5.18", None, "page pfn flags", hex=("pfn",), name="mm_vmscan_write_folio"),
        ),
        "pageout() submitted a page for writeback", aliases=("mm_vmscan_write_folio",),
        decoders=("reclaim_flags",), derived=RECLAIM_FLAGS_DERIVED,
    ),
    Event(
        "mm_vmscan_throttled", "vmscan",
        (NID, _f("usec_timeout"), _f("usec_delayed", I64, "usect_delayed", "usec_delayed"),
         _f("reason", STR, doc="VMSCAN_THROTTLE_{WRITEBACK,ISOLATED,NOPROGRESS,CONGESTED,NONE}")),
        (_v("5.16", None, "nid usec_timeout usect_delayed reason"),),
        "reclaim_throttle() slept",
    ),
    Event(
        "mm_shrink_slab_start", "vmscan",
        (
            *_SLAB_POS,
            _f("nid", I32, "nid:"),
            _f("nr_objects_to_shrink", I64, "objects to shrink", doc="nr_deferred taken for this call"),
            _f("gfp_flags", STR, "gfp_flags"),
            _f("pgs_scanned", I64, "pgs_scanned", doc="3.1-4.15"),
            _f("lru_pgs", I64, "lru_pgs", doc="3.1-4.15"),
            _f("cache_items", I64, "cache items", doc="freeable objects (count_objects)"),
            _f("delta", I64, "delta"),
            _f("total_scan", I64, "total_scan"),
            _f("priority", I32, "priority", doc="4.16+"),
        ),
        (
            _vp("3.1", "3.11", "objects to shrink|gfp_flags|pgs_scanned|lru_pgs|cache items|delta|total_scan"),
            _vp("3.12", "4.15", "nid:|objects to shrink|gfp_flags|pgs_scanned|lru_pgs|cache items|delta|total_scan"),
            _vp("4.16", None, "nid:|objects to shrink|gfp_flags|cache items|delta|total_scan|priority"),
        ),
        "do_shrink_slab start (prose format: `label value` pairs)", decoders=("gfp",), derived=GFP_DERIVED,
    ),
    Event(
        "mm_shrink_slab_end", "vmscan",
        (
            *_SLAB_POS,
            _f("nid", I32, "nid:"),
            _f("unused_scan", I64, "unused scan count"),
            _f("new_scan", I64, "new scan count", doc="nr_deferred after this call"),
            _f("total_scan", I64, "total_scan"),
            _f("retval", I64, "last shrinker return val", doc="objects freed"),
        ),
        (
            _vp("3.1", "3.11", "unused scan count|new scan count|total_scan|last shrinker return val"),
            _vp("3.12", None, "nid:|unused scan count|new scan count|total_scan|last shrinker return val"),
        ),
        "do_shrink_slab end",
    ),
    Event(
        "mm_vmscan_reclaim_pages", "vmscan",
        (NID, _f("nr_scanned"), _f("nr_reclaimed"), _f("nr_dirty"), _f("nr_writeback"), _f("nr_congested"),
         _f("nr_immediate"), _f("nr_activate_anon"), _f("nr_activate_file"), _f("nr_ref_keep"),
         _f("nr_unmap_fail")),
        (_v("6.14", None, "nid nr_scanned nr_reclaimed nr_dirty nr_writeback nr_congested nr_immediate "
            "nr_activate_anon nr_activate_file nr_ref_keep nr_unmap_fail", note="linux-next 2025/26 [inferred range]"),),
        "reclaim_pages() (proactive reclaim) result",
    ),
    Event(
        "mm_vmscan_kswapd_reclaim_fail", "vmscan", (NID, _f("failures", I32)),
        (_v("6.18", None, "nid failures", note="linux-next [inferred range]"),), "kswapd_failures incremented",
    ),
    Event(
        "mm_vmscan_reset_kswapd_failures", "vmscan", (NID, _f("reason", STR)),
        (_v("6.18", None, "nid reason", note="linux-next [inferred range]"),), "kswapd_failures reset",
    ),
)
