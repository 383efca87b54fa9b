"""Benchmark runners: ``python -m benchmarks [NAME...]``. Each prints ratios measured in one run."""
