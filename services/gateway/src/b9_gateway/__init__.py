"""b9 gateway service."""
