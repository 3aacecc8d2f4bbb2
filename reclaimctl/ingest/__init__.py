"""Ingestion: trace text (ftrace, trace-cmd, perf script, systemtap) into typed Arrow tables."""

from .api import read, stream
from .reader import ParseError, TraceReader

__all__ = ["ParseError", "TraceReader", "read", "stream"]
