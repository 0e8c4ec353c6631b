"""b9 persistence service."""
