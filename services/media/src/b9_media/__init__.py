"""b9 media service: safe download, compression, dedup, object storage."""

__version__ = "0.1.0"
