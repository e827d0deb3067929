"""The benchmark against the Spring baseline: `make bench` (see benchmark/README.md)."""
