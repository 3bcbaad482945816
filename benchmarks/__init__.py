"""Benchmarks: scripts that print a table; results are recorded in BENCHMARKS.md."""
