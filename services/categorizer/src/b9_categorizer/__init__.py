"""b9 categorizer service."""
