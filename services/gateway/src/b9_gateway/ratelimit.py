"""Per-client token bucket as a plain ASGI middleware (429 with Retry-After when empty);
after any write request it also drops the cached list totals.

The client is the bearer credential's hash when present, else the peer address. Buckets
live per worker process; with N workers the effective budget is up to N times the setting.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from b9_gateway.http import encode
from b9_gateway.sql import invalidate_counts

OPEN_PATHS = ("/health", "/ready", "/metrics")
MAX_CLIENTS = 10_000


class TokenBuckets:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, list[float]] = {}

    def take(self, client: str, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else seconds until a token is available."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._evict(now)
            bucket = self._buckets[client] = [self.burst, now]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def _evict(self, now: float) -> None:
        full_after = self.burst / self.rate if self.rate else 0.0
        stale = [k for k, (_, last) in self._buckets.items() if now - last > full_after]
        for k in stale or list(self._buckets)[: MAX_CLIENTS // 2]:
            del self._buckets[k]


def _client_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "k:" + hashlib.sha256(value).hexdigest()[:16]
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:?"


class RateLimit:
    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            try:
                await self._limited(scope, receive, send)
            finally:
                invalidate_counts()  # a write may change any list's total
            return
        await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(_client_id(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        body = encode({"detail": f"rate limit exceeded: retry after {retry} s"})
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
