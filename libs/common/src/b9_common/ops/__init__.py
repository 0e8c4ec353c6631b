"""Operations: logging, metrics, heartbeats, tracing, reason codes, request contexts."""
