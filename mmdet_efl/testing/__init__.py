"""Helpers for tests and benchmarks only (as ``mmdet.testing``): nothing
here is imported by ``import mmdet_efl``."""
