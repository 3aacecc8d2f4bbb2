"""The event schema registry shared by the parser and the reclaim engine."""

from .registry import OTHER, REGISTRY, Registry, infer_kernel
from .schema import HEADER_COLUMNS, Event, Field, Variant

__all__ = ["HEADER_COLUMNS", "OTHER", "REGISTRY", "Event", "Field", "Registry", "Variant", "infer_kernel"]
