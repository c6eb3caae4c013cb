"""Performance benchmarks; each prints JSON."""
