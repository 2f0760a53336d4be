"""Benchmarks of the resolver against the product targets: ``make bench`` runs them all.

Every figure is set beside a baseline measured in the same run on the same machine, so the
ratios stay meaningful on a small, noisy machine; ``docs/benchmarks.md`` is written by
:mod:`benchmarks.run`.
"""
