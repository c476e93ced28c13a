"""Foundations: paths, checks and atomic I/O, third-party shims, the results cache, the tiers."""
