"""Observability: logs, metrics, tracing, reason codes, heartbeats and the requests people follow.
Imports nothing from the bus above it: what it needs of it, it names as a Protocol."""
