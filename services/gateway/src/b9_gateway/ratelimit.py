"""Per-client token bucket as a plain ASGI middleware (429 with Retry-After when empty);
after any write request it also drops the cached list totals.

The client is the bearer credential's hash when present, else the client's address: the
peer, or the ``X-Forwarded-For`` address a trusted proxy (``GATEWAY_TRUSTED_PROXIES``) names.
Buckets live per worker process; with N workers the effective budget is up to N times the
setting. Failed authentication has its own buckets, keyed on the address only (``gate.py``).
"""

from __future__ import annotations

import hashlib
import ipaddress
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

    def peek(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` has a token (0 when it has one); takes nothing."""
        bucket = self._buckets.get(client)
        if bucket is None:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _evict(self, now: float) -> None:
        full_after = self.burst / self.rate if self.rate else 0.0
        stale = [k for k, (_, last) in self._buckets.items() if now - last > full_after]
        for k in stale or list(self._buckets)[: MAX_CLIENTS // 2]:
            del self._buckets[k]


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(text: str) -> Networks:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` -> networks (raises ValueError on a bad entry)."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(scope: Scope, trusted: Networks = ()) -> str:
    """The peer address; when the peer is a trusted proxy, the right-most ``X-Forwarded-For``
    address that is not one (a client can prepend anything, never append)."""
    client = scope.get("client")
    peer = client[0] if client else "?"
    if not trusted or not _trusted(peer, trusted):
        return peer
    forwarded = [v.decode("latin-1") for n, v in scope.get("headers", ()) if n == b"x-forwarded-for"]
    hops = [h.strip() for line in forwarded for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _client_id(scope: Scope, trusted: Networks = ()) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "k:" + hashlib.sha256(value).hexdigest()[:16]
    return "ip:" + client_address(scope, trusted)


def too_many(retry: int, what: str = "rate limit exceeded") -> tuple[dict[str, Any], bytes]:
    """The 429 response start and body (``Retry-After`` in whole seconds)."""
    body = encode({"detail": f"{what}: retry after {retry} s"})
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry).encode()),
    ]
    return {"type": "http.response.start", "status": 429, "headers": headers}, body


class RateLimit:
    def __init__(self, app: ASGIApp, rate: float, burst: int, trusted: Networks = ()) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.trusted = trusted

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
        wait = self.buckets.take(_client_id(scope, self.trusted))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        start, body = too_many(max(1, math.ceil(wait)))
        await send(start)
        await send({"type": "http.response.body", "body": body})
