"""Pages leaving without reclaim: munmap/exit of anon memory (mm/memory.c zap_pte_range,
mm/swap_state.c free_pages_and_swap_cache) and page-cache truncation (mm/truncate.c)."""

from __future__ import annotations

from .jit import jit
from .mm_inline import del_page_from_lru_list
from .page_alloc import free_unref_page
from .page_counter import memsw_uncharge, page_counter_uncharge
from .state import (
    G_NR_NODES,
    IN_BATCH,
    NO_PAGE,
    NR_LRU_LISTS,
    PG_DIRTY,
    PG_LRU,
    PG_SWAPCACHE,
    PG_WRITEBACK,
    SWAPPED,
    T_ANON_HI,
    T_ANON_LO,
    T_MEMCG,
)
from .swap import lru_add_drain_all
from .swapfile import swap_free
from .writeback import clear_page_dirty


@jit
def release_page(st, page):
    """Drop the last reference of a page that left its mapping: off the LRU, uncharged, freed.  A
    page under writeback stays on its list without an owner (key -1) until reclaim frees it after
    the IO, as the kernel frees it on the final put after end_page_writeback."""
    if st.pg_lru[page] == IN_BATCH:
        lru_add_drain_all(st)
    if st.pg_flags[page] & PG_DIRTY:
        clear_page_dirty(st, page)
    if st.pg_flags[page] & PG_SWAPCACHE:
        st.pg_flags[page] &= ~PG_SWAPCACHE
        swap_free(st)
    st.pg_map[page] = 0
    if st.pg_flags[page] & PG_WRITEBACK:
        st.pg_key[page] = -1
        return
    if (st.pg_flags[page] & PG_LRU) and st.pg_lru[page] < NR_LRU_LISTS:
        del_page_from_lru_list(st, page, st.pg_lv[page], st.pg_lru[page])
    memcg = st.pg_lv[page] // st.g[G_NR_NODES]
    page_counter_uncharge(st, memcg, 1)
    memsw_uncharge(st, memcg, 1)
    free_unref_page(st, page)


@jit
def zap_anon(st, aid, memcg):
    """Unmap anon id ``aid`` of a task of ``memcg``: free its page, or its swap entry (whose memsw
    charge goes with it)."""
    v = st.anon_map[aid]
    if v >= 0:
        release_page(st, v)
    elif v == SWAPPED:
        swap_free(st)
        memsw_uncharge(st, memcg, 1)
    st.anon_map[aid] = NO_PAGE
    st.anon_shadow[aid] = 0


@jit
def truncate_file_page(st, fid):
    page = st.file_map[fid]
    if page >= 0:
        release_page(st, page)
    st.file_map[fid] = NO_PAGE
    st.file_shadow[fid] = 0


@jit
def exit_mmap(st, t):
    for aid in range(st.task[t, T_ANON_LO], st.task[t, T_ANON_HI]):
        zap_anon(st, aid, st.task[t, T_MEMCG])
