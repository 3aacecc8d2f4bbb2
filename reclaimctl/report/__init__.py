"""Rendering: rich tables on a terminal, machine formats when asked.  Computes nothing."""
