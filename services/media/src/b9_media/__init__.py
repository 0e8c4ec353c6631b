"""b9 media service."""
