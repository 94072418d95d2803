"""Benchmarks of the operator and the chart (not tests: nothing here asserts on timing).

`python -m bench.run` (or `make bench`) runs every benchmark and rewrites
docs/benchmarks.md; each benchmark module also runs on its own (`python -m bench.scale`).
"""
