"""Swap slots (mm/swapfile.c, mm/swap_state.c): capacity and use, nothing about their place.

A slot is used by a page in the swap cache or by an anon page that is swapped out; the invariant
``used == swapcache pages + swapped-out anon ids`` is checked in debug mode.
"""

from __future__ import annotations

from .jit import jit
from .state import G_SWAP_TOTAL, G_SWAP_USED, PG_DIRTY, PG_SWAPCACHE


@jit
def get_nr_swap_pages(st):
    return st.g[G_SWAP_TOTAL] - st.g[G_SWAP_USED]


@jit
def vm_swap_full(st):
    """Half of swap used (mm/swapfile.c vm_swap_full)."""
    return st.g[G_SWAP_USED] * 2 >= st.g[G_SWAP_TOTAL]


@jit
def add_to_swap(st, page):
    """Allocate a slot and put the page in the swap cache, dirty (it must be written out)."""
    if st.g[G_SWAP_USED] >= st.g[G_SWAP_TOTAL]:
        return False
    st.g[G_SWAP_USED] += 1
    st.pg_flags[page] |= PG_SWAPCACHE | PG_DIRTY
    return True


@jit
def swap_free(st):
    st.g[G_SWAP_USED] -= 1


@jit
def try_to_free_swap(st, page):
    """Drop a swap-cache page's slot; its content now exists only in memory (dirty)."""
    if st.pg_flags[page] & PG_SWAPCACHE:
        st.pg_flags[page] &= ~PG_SWAPCACHE
        st.pg_flags[page] |= PG_DIRTY
        swap_free(st)
