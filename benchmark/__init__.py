"""The benchmark of the service against bare Falcon: `make bench` (see benchmark/README.md)."""
