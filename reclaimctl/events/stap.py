"""Events read from systemtap output.

The script of the incident notes prints, per CPU, ``shrink_node`` and ``do_try_to_free_pages``
begin/end lines with the time spent in ``shrink_slab`` (nanoseconds from gettimeofday_ns)::

    [13] do_try_to_free_pages comm(postgres) BEG
    [13] comm(postgres) shrink_node BEG, priority(12) nr_scanned(0) nr_reclaimed(0)
    [13] comm(postgres) shrink_node_delta(49430165) shrink_slab_delta(34438839)
    [13] do_try_to_free_pages comm(postgres) END: try_to_free_delta(857655483) shrink_slab_delta(632414632)

Lines of other scripts that carry ``key(value)`` or ``key=value`` pairs tagged by ``[cpu]`` go to
``stap_record``, one row per pair.  stap lines carry no timestamp: ``ts_ns`` is null and ``line``
orders them.
"""

from __future__ import annotations

from .schema import I64, STR, Event, Field, Variant

_SCRIPT = "systemtap script of the incident notes"

EVENTS: tuple[Event, ...] = (
    Event(
        "stap_try_to_free_pages_begin", "stap", (),
        (Variant("2.6.36", None, (), note=_SCRIPT),), "do_try_to_free_pages entered",
    ),
    Event(
        "stap_try_to_free_pages_end", "stap",
        (Field("try_to_free_delta", I64, doc="ns spent in do_try_to_free_pages"),
         Field("shrink_slab_delta", I64, doc="ns spent in shrink_slab during it")),
        (Variant("2.6.36", None, ("try_to_free_delta", "shrink_slab_delta"), note=_SCRIPT),),
        "do_try_to_free_pages returned",
    ),
    Event(
        "stap_shrink_node_begin", "stap",
        (Field("priority", I64), Field("nr_scanned", I64), Field("nr_reclaimed", I64)),
        (Variant("2.6.36", None, ("priority", "nr_scanned", "nr_reclaimed"), note=_SCRIPT),),
        "shrink_node entered (sc->priority, sc->nr_scanned, sc->nr_reclaimed so far)",
    ),
    Event(
        "stap_shrink_node_end", "stap",
        (Field("shrink_node_delta", I64, doc="ns spent in shrink_node"),
         Field("shrink_slab_delta", I64, doc="ns spent in shrink_slab during it")),
        (Variant("2.6.36", None, ("shrink_node_delta", "shrink_slab_delta"), note=_SCRIPT),),
        "shrink_node returned",
    ),
    Event(
        "stap_record", "stap",
        (Field("label", STR, doc="the words of the line that are not pairs"),
         Field("key", STR), Field("value", I64, doc="the value when it is an integer"),
         Field("text", STR, doc="the value as printed")),
        (Variant("2.6.36", None, ("label", "key", "value", "text"), note="generic key(value) / key=value lines"),),
        "one key/value pair of a generic stap line",
    ),
)
