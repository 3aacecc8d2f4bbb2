"""The reclaim model: a numba-jitted simulation of Linux page reclaim (spec: reclaim-model.md).

Entry point: :class:`reclaimctl.engine.api.Simulation`.  Files are named after the kernel's:
``page_alloc``/``slowpath`` (mm/page_alloc.c), ``swap`` (mm/swap.c), ``vmscan``,
``shrink_lruvec``, ``shrink_list``, ``kswapd``, ``direct_reclaim`` (mm/vmscan.c), ``memcontrol``
and ``page_counter`` (mm/memcontrol.c, mm/page_counter.c), ``workingset``, ``writeback``,
``swapfile``, ``oom_kill``, ``truncate``; ``memory`` holds the fault and page-cache paths the
workload drives.  Kernel profiles are data (``profiles``, encoded by ``params``).  Imports nothing
of the package but ``events/``.
"""
