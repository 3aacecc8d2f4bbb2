"""The events around reclaim: kmem page allocator, filemap, writeback, oom, compaction.

Payload labels that collide with header columns are renamed (``pid`` of oom_score_adj_update is
``target_pid``; the header's ``pid`` is the task that hit the tracepoint).
"""

from __future__ import annotations

from .schema import I32, I64, PTR, STR, Event, Field, Variant
from .vmscan import GFP_DERIVED


def _f(name: str, typ: str = I64, *keys: str, doc: str = "") -> Field:
    return Field(name, typ, tuple(keys), doc)


def _v(since: str, until: str | None, keys: str, **kw: object) -> Variant:
    return Variant(since, until, tuple(keys.split()), **kw)  # type: ignore[arg-type]


PAGE = _f("page", PTR, doc="struct page pointer (%p; hashed from 4.15)")
PFN = _f("pfn", I64, doc="page frame number (decimal, or 0x%lx on newer kernels)")
ORDER = _f("order", I32)
USEC = (_f("usec_timeout"), _f("usec_delayed"))
_FILEMAP_VARIANTS = (
    _v("3.3", "5.13", "dev ino page pfn ofs"),
    _v("5.14", "5.16", "dev ino page pfn ofs", hex=("pfn",)),
    _v("5.17", None, "dev ino pfn ofs order", hex=("pfn",), note="folio conversion"),
)

EVENTS: tuple[Event, ...] = (
    Event(
        "mm_page_alloc", "kmem",
        (PAGE, PFN, ORDER, _f("migratetype", I32), _f("gfp_flags", STR)),
        (
            _v("2.6.36", "5.13", "page pfn order migratetype gfp_flags"),
            _v("5.14", None, "page pfn order migratetype gfp_flags", hex=("pfn",)),
        ),
        "__alloc_pages returned (page=(null) when it failed)", decoders=("gfp",), derived=GFP_DERIVED,
    ),
    Event(
        "mm_page_free", "kmem", (PAGE, PFN, ORDER),
        (_v("3.3", "5.13", "page pfn order"), _v("5.14", None, "page pfn order", hex=("pfn",))),
        "a page (block) freed", aliases=("mm_page_free_direct",),
    ),
    Event(
        "mm_page_free_batched", "kmem", (PAGE, PFN, ORDER, _f("cold", I32)),
        (
            _v("2.6.36", "4.14", "page pfn order cold"),
            _v("4.15", "5.13", "page pfn order"),
            _v("5.14", None, "page pfn order", hex=("pfn",)),
        ),
        "a page freed from a batch (pagevec)",
    ),
    Event(
        "mm_page_alloc_zone_locked", "kmem",
        (PAGE, PFN, ORDER, _f("migratetype", I32), _f("percpu_refill", I32)),
        (
            _v("2.6.36", "5.13", "page pfn order migratetype percpu_refill"),
            _v("5.14", None, "page pfn order migratetype percpu_refill", hex=("pfn",)),
        ),
        "pages taken from the buddy lists under zone->lock",
    ),
    Event(
        "mm_filemap_add_to_page_cache", "filemap",
        (_f("dev", STR, "dev", doc="major:minor"), _f("ino", PTR, "ino", doc="inode number (hex)"),
         PAGE, PFN, _f("ofs"), ORDER),
        _FILEMAP_VARIANTS,
        "a page entered the page cache",
    ),
    Event(
        "mm_filemap_delete_from_page_cache", "filemap",
        (_f("dev", STR, "dev"), _f("ino", PTR, "ino"), PAGE, PFN, _f("ofs"), ORDER),
        _FILEMAP_VARIANTS,
        "a page left the page cache",
    ),
    Event(
        "writeback_dirty_page", "writeback",
        (_f("bdi", STR, "bdi", doc="backing device name"), _f("ino"), _f("index")),
        (_v("3.1", "5.15", "bdi ino index"),
         _v("5.16", None, "bdi ino index", name="writeback_dirty_folio", note="5.16 or 5.17")),
        "a page became dirty", aliases=("writeback_dirty_folio",),
    ),
    Event(
        "writeback_congestion_wait", "writeback", USEC,
        (_v("3.3", "5.15", "usec_timeout usec_delayed"),), "congestion_wait() slept (reclaim throttling)",
    ),
    Event(
        "writeback_wait_iff_congested", "writeback", USEC,
        (_v("3.3", "5.15", "usec_timeout usec_delayed"),), "wait_iff_congested() slept",
    ),
    Event(
        "oom_score_adj_update", "oom",
        (_f("target_pid", I32, "pid"), _f("target_comm", STR, "comm"), _f("oom_score_adj", I32)),
        (_v("3.3", None, "pid comm oom_score_adj"),),
        "a task's oom_score_adj changed",
    ),
    Event(
        "mark_victim", "oom",
        (
            _f("victim_pid", I32, "pid"),
            _f("victim_comm", STR, "comm"),
            _f("total_vm_kb", I64, "total-vm"),
            _f("anon_rss_kb", I64, "anon-rss"),
            _f("file_rss_kb", I64, "file-rss:"),
            _f("shmem_rss_kb", I64, "shmem-rss:"),
            _f("uid", I64),
            _f("pgtables_kb", I64, "pgtables"),
            _f("oom_score_adj", I32),
        ),
        (
            _v("4.13", "6.10", "pid"),
            Variant("6.11", None, ("pid", "comm", "total-vm", "anon-rss", "file-rss:", "shmem-rss:", "uid",
                                   "pgtables", "oom_score_adj"), note="also 6.1-stable from 2025"),
        ),
        "the OOM killer chose a victim",
    ),
    Event("wake_reaper", "oom", (_f("victim_pid", I32, "pid"),), (_v("4.14", None, "pid"),), "oom_reaper woken"),
    Event("start_task_reaping", "oom", (_f("victim_pid", I32, "pid"),), (_v("4.14", None, "pid"),), "reaping starts"),
    Event("finish_task_reaping", "oom", (_f("victim_pid", I32, "pid"),), (_v("4.14", None, "pid"),), "reaping ends"),
    Event("skip_task_reaping", "oom", (_f("victim_pid", I32, "pid"),), (_v("4.14", None, "pid"),), "reaping skipped"),
    Event(
        "reclaim_retry_zone", "oom",
        (_f("node", I32), _f("zone", STR), ORDER, _f("reclaimable"), _f("available"), _f("min_wmark"),
         _f("no_progress_loops", I32), _f("wmark_check", I32)),
        (_v("4.12", None, "node zone order reclaimable available min_wmark no_progress_loops wmark_check"),),
        "should_reclaim_retry() checked a zone",
    ),
    Event(
        "compact_retry", "oom",
        (ORDER, _f("priority", STR), _f("compaction_result", STR), _f("retries", I32), _f("max_retries", I32),
         _f("should_retry", I32)),
        (_v("4.12", None, "order priority compaction_result retries max_retries should_retry"),),
        "should_compact_retry() decision",
    ),
    Event(
        "mm_compaction_begin", "compaction",
        (_f("zone_start", I64), _f("migrate_pfn", I64), _f("free_pfn", I64), _f("zone_end", I64),
         _f("mode", STR, doc="async or sync")),
        (_v("4.1", None, "zone_start migrate_pfn free_pfn zone_end mode",
            hex=("zone_start", "migrate_pfn", "free_pfn", "zone_end")),),
        "compact_zone() starts",
    ),
    Event(
        "mm_compaction_end", "compaction",
        (_f("zone_start", I64), _f("migrate_pfn", I64), _f("free_pfn", I64), _f("zone_end", I64),
         _f("mode", STR), _f("status", STR)),
        (_v("4.1", None, "zone_start migrate_pfn free_pfn zone_end mode status",
            hex=("zone_start", "migrate_pfn", "free_pfn", "zone_end")),),
        "compact_zone() ends",
    ),
)
