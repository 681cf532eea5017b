"""Benchmarks behind ``enerwise bench ...``: each returns one JSON-able dict of figures."""
