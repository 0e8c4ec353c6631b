"""b9 persistence service."""

__version__ = "0.1.0"
