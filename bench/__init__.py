"""Benchmarks of the kernel and the system, each figure a ratio to a same-run baseline.

`python -m bench` (or `python3 tasks.py bench`, `make bench`; `--full` for larger sizes)
prints the table and writes `bench/results.json`. Method and figures: docs/performance.md.
"""
