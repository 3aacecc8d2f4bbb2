"""Slab shrinking (mm/vmscan.c shrink_slab, spec §7).

Part 1 of the engine has no shrinker registry yet: ``shrink_slab`` models a kernel with no
registered shrinkers, which costs only the call itself.  It returns the pages freed (credited to
nr_reclaimed through reclaim_state) and adds its time to the scan_control's slab clock, which the
systemtap emulation reports as shrink_slab_delta.
"""

from __future__ import annotations

from .jit import jit
from .params import C_PROBE, C_SLAB_CALL
from .state import G_NOW, G_STAP, SC_SLAB_NS


@jit
def shrink_slab(st, s, nid, memcg):
    start = st.g[G_NOW]
    st.g[G_NOW] += int(st.cost[C_SLAB_CALL])
    if st.g[G_STAP]:
        st.g[G_NOW] += int(st.cost[C_PROBE])
    st.sc[s, SC_SLAB_NS] += st.g[G_NOW] - start
    return 0
