"""What the workload does to memory (mm/memory.c faults, mm/filemap.c reads and writes): each
operation allocates, charges and adds pages to the LRU the way the kernel's paths do, or touches
pages already there (young PTEs, mark_page_accessed, dirtying)."""

from __future__ import annotations

from .jit import jit
from .memcontrol import mem_cgroup_resize_max, try_charge
from .page_counter import memsw_uncharge
from .params import NEW_ANON_ACTIVE, SW_NEW_ANON_LRU, SW_WORKINGSET, WORKINGSET_FILE_ONLY
from .slowpath import alloc_pages
from .state import (
    ARG_EXEC,
    ARG_MLOCK,
    CPU_NODE,
    G_CTX_CPU,
    G_CTX_TASK,
    G_GFP_ZONE_MOVABLE,
    G_NOW,
    G_NR_NODES,
    NO_PAGE,
    OP_ANON_FAULT,
    OP_ANON_FREE,
    OP_ANON_TOUCH,
    OP_FILE_DELETE,
    OP_FILE_MAP,
    OP_FILE_READ,
    OP_FILE_WRITE,
    OP_MEMCG_SET_MAX,
    OP_TASK_EXIT,
    PG_ACTIVE,
    PG_ANON,
    PG_EXEC,
    PG_MLOCKED,
    PG_SWAPBACKED,
    PG_SWAPCACHE,
    PG_UNEVICTABLE,
    PG_YOUNG,
    SWAPPED,
    T_MEMCG,
    VM_PGMAJFAULT,
    VM_PSWPIN,
    Z_NODE,
)
from .swap import lru_cache_add, mark_page_accessed
from .trace import GFP_HIGHUSER_MOVABLE
from .truncate import exit_mmap, truncate_file_page, zap_anon
from .vmscan import advance_to
from .workingset import workingset_refault
from .writeback import balance_dirty_pages, set_page_dirty

FAILED = -3  # the allocation failed even after the OOM killer


@jit
def new_user_page(st, flags, key):
    """alloc_pages(GFP_HIGHUSER_MOVABLE) on the CPU's node, then the memcg charge."""
    cpu = st.g[G_CTX_CPU]
    page = alloc_pages(st, GFP_HIGHUSER_MOVABLE, 0, st.cpu[cpu, CPU_NODE], st.g[G_GFP_ZONE_MOVABLE])
    if page < 0:
        return FAILED
    memcg = st.task[st.g[G_CTX_TASK], T_MEMCG]
    st.pg_flags[page] |= flags
    st.pg_key[page] = key
    st.pg_lv[page] = memcg * st.g[G_NR_NODES] + st.zone[st.pg_zone[page], Z_NODE]
    try_charge(st, memcg, 1)
    return page


@jit
def do_anonymous_page(st, aid, arg):
    flags = PG_ANON | PG_SWAPBACKED | PG_YOUNG
    if arg & ARG_MLOCK:
        flags |= PG_UNEVICTABLE | PG_MLOCKED
    elif st.sw[SW_NEW_ANON_LRU] == NEW_ANON_ACTIVE:
        flags |= PG_ACTIVE  # 4.18 lru_cache_add_active_or_unevictable
    page = new_user_page(st, flags, aid)
    if page < 0:
        return page
    st.pg_map[page] = 1
    st.anon_map[aid] = page
    lru_cache_add(st, st.g[G_CTX_CPU], page)
    return page


@jit
def do_swap_page(st, aid):
    """Swap-in: the page comes back into the swap cache (slot still held), inactive unless the
    refault test activates it (P372/P66 anon workingset)."""
    page = new_user_page(st, PG_ANON | PG_SWAPBACKED | PG_SWAPCACHE | PG_YOUNG, aid)
    if page < 0:
        return page
    # the new page carries the memsw charge now: the swap entry's is dropped (mem_cgroup_commit_charge)
    memsw_uncharge(st, st.task[st.g[G_CTX_TASK], T_MEMCG], 1)
    nid = st.zone[st.pg_zone[page], Z_NODE]
    st.vmstat[nid, VM_PSWPIN] += 1
    st.vmstat[nid, VM_PGMAJFAULT] += 1
    if st.sw[SW_WORKINGSET] != WORKINGSET_FILE_ONLY:
        workingset_refault(st, page, st.anon_shadow[aid])
    st.anon_shadow[aid] = 0
    st.pg_map[page] = 1
    st.anon_map[aid] = page
    lru_cache_add(st, st.g[G_CTX_CPU], page)
    return page


@jit
def handle_anon(st, aid, write, arg):
    v = st.anon_map[aid]
    if v == NO_PAGE:
        v = do_anonymous_page(st, aid, arg)
    elif v == SWAPPED:
        v = do_swap_page(st, aid)
    if v < 0:
        return v
    st.pg_flags[v] |= PG_YOUNG
    if st.pg_map[v] == 0:
        st.pg_map[v] = 1  # minor fault on a swap-cache page
    if write and (st.pg_flags[v] & PG_SWAPCACHE):
        set_page_dirty(st, v)  # the copy in swap is stale now
    return v


@jit
def add_to_page_cache_lru(st, fid):
    page = new_user_page(st, 0, fid)
    if page < 0:
        return page
    workingset_refault(st, page, st.file_shadow[fid])
    st.file_shadow[fid] = 0
    st.file_map[fid] = page
    lru_cache_add(st, st.g[G_CTX_CPU], page)
    return page


@jit
def find_or_create_page(st, fid):
    page = st.file_map[fid]
    if page >= 0:
        return page, False
    return add_to_page_cache_lru(st, fid), True


@jit
def handle_file(st, op, fid, arg):
    page, _new = find_or_create_page(st, fid)
    if page < 0:
        return page
    cpu = st.g[G_CTX_CPU]
    if op == OP_FILE_READ:
        mark_page_accessed(st, cpu, page)
    elif op == OP_FILE_WRITE:
        set_page_dirty(st, page)
    else:  # OP_FILE_MAP
        maps = max(1, arg >> 8)
        if st.pg_map[page] < maps:
            st.pg_map[page] = maps
        st.pg_flags[page] |= PG_YOUNG
        if arg & ARG_EXEC:
            st.pg_flags[page] |= PG_EXEC
    return page


@jit
def do_op(st, op, obj, count, arg):
    """One workload event on ``count`` consecutive objects.  Returns the number of objects whose
    allocation failed (OOM with no victim)."""
    failed = 0
    if op == OP_TASK_EXIT:
        exit_mmap(st, st.g[G_CTX_TASK])
        return 0
    if op == OP_MEMCG_SET_MAX:
        mem_cgroup_resize_max(st, arg, obj)
        return 0
    for k in range(count):
        o = obj + k
        if op == OP_ANON_FAULT or op == OP_ANON_TOUCH:
            r = handle_anon(st, o, op == OP_ANON_FAULT, arg)
        elif op == OP_FILE_READ or op == OP_FILE_WRITE or op == OP_FILE_MAP:
            r = handle_file(st, op, o, arg)
            if op == OP_FILE_WRITE and r >= 0:
                pause = balance_dirty_pages(st)
                if pause:
                    advance_to(st, st.g[G_NOW] + pause)
        elif op == OP_ANON_FREE:
            zap_anon(st, o, st.task[st.g[G_CTX_TASK], T_MEMCG])
            r = 0
        elif op == OP_FILE_DELETE:
            truncate_file_page(st, o)
            r = 0
        else:
            r = 0
        if r == FAILED:
            failed += 1
    return failed
