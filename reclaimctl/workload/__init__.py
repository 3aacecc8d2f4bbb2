"""Workloads for the engine: scenario generators (and, later, streams taken from traces)."""
