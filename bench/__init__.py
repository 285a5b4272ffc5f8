"""Benchmarks: `python -m bench.<name>`; results are recorded in BENCHMARKS.md."""
