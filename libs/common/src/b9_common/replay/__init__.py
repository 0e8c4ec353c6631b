"""Replays: re-running a slice of a stream through a service's handlers, the job runner and its log."""
