"""What the routes need, built once per process: pool, NATS handles, KV buckets, media store,
the local feed hub (SSE) and the replay desk (asks owning services, reads their records)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from b9_common.db import create_pool
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.service import Runtime
from fastapi import Request
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from b9_gateway.decide import Decider
from b9_gateway.feed import Hub, control_event, heartbeat_event
from b9_gateway.http import JSON
from b9_gateway.media_store import MediaStore, open_media
from b9_gateway.pool import FairPool
from b9_gateway.replays import ReplayDesk, replay_event
from b9_gateway.requests import Desk, NotRunnable, request_event
from b9_gateway.settings import Settings


class BusUnavailable(Exception):
    """NATS cannot be reached right now (the request is answered 503, Retry-After)."""


class TTLCache:
    """A few values computed at most once per ``ttl`` seconds (one computation at a time)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._values.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._values.get(key)
            if hit and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
            value = await compute()
            self._values[key] = (time.monotonic(), value)
            return value


@dataclass
class Deps:
    settings: Settings
    pool: FairPool
    nc: NATS
    js: JetStreamContext
    topology: Topology
    publisher: Publisher
    control: KeyValue
    heartbeats: KeyValue
    requests_kv: KeyValue
    media: MediaStore
    cache: TTLCache
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub = field(default_factory=Hub)
    decider: Decider = field(init=False)
    requests: Desk = field(init=False)

    def __post_init__(self) -> None:
        self.decider = Decider(self.nc, self.publisher, self.pool, self.topology.decisions_applied_subject())
        self.requests = Desk(self.requests_kv, self.publisher, self.topology, self.heartbeats)

    async def accept(self, command: Any, target: str) -> JSON:
        """Publish a command as a request people can follow (``requests.Desk``) and answer 202
        (the ``Accepted`` shape: request_id, status_url); the same kind and target already
        queued or running answers its request and publishes nothing; 409 when it cannot run."""
        if not self.nc.is_connected:  # at once, not after the ack timeout: the app answers 503
            raise BusUnavailable("NATS is not connected")
        try:
            body = await self.requests.accept(command, target)
        except NotRunnable as exc:
            return JSON({"detail": exc.message, "reason": exc.reason, "error": exc.message}, status_code=409)
        return JSON(body, status_code=202)
    replays: ReplayDesk = field(init=False)

    async def aclose(self) -> None:
        """Stop what runs in the background (the decider, KV watchers)."""
        self.closing.set()
        await self.decider.close()
        await self.hub.close()


async def _init_conn(conn: asyncpg.Connection) -> None:
    import msgspec

    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ,
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release hook. asyncpg's default reset runs a query (``RESET ALL``, ``UNLISTEN``,
    advisory unlock...) on every release: one extra round trip per request. The gateway
    never changes session state, and asyncpg still rolls back a transaction left open."""


async def build_pool(settings: Settings) -> FairPool:
    """The gateway's pool (``FairPool``: FIFO, interactive first, a background pool) with
    asyncpg's pool settings (as ``asyncpg.create_pool``)."""
    pool = FairPool(
        settings.database_url,
        min_size=min(2, settings.pool_size),
        max_size=settings.pool_size,
        # asyncpg replaces a connection after 50,000 queries by default: at 2,000 requests/s
        # on 2 connections that is a new backend (fork, auth, codecs, cold caches, statements
        # prepared again) every ~50 s per connection, each one a stall of the worker's lists.
        # The statement cache is bounded (100), so nothing grows: keep connections.
        max_queries=2**62,
        max_inactive_connection_lifetime=300.0,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=30,
        init=_init_conn,
        reset=_keep_session,
    )
    await pool
    return pool


async def build_deps(settings: Settings, rt: Runtime, pool: FairPool | None = None) -> Deps:
    pool = pool or await build_pool(settings)
    deps = Deps(
        settings=settings,
        pool=pool,
        nc=rt.nc,
        js=rt.js,
        topology=rt.topology,
        publisher=rt.publisher,
        control=await rt.topology.control_kv(rt.js),
        heartbeats=await rt.topology.heartbeat_kv(rt.js),
        requests_kv=await rt.topology.requests_kv(rt.js),
        media=open_media(settings.media_store_url, settings),
        cache=TTLCache(settings.gateway_overview_ttl),
    )
    await deps.decider.start()
    deps.hub.watch(deps.control, "control.changed", control_event)
    deps.hub.watch(deps.heartbeats, "heartbeat", heartbeat_event)
    deps.hub.watch(deps.requests_kv, "request.changed", request_event)
    deps.replays = ReplayDesk(rt.nc, rt.js, rt.topology, rt.publisher, settings.database_url,
                              settings.gateway_max_replays)
    deps.hub.watch(await deps.replays.kv(), "replay.progress", replay_event)
    return deps


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


__all__ = ["Deps", "TTLCache", "build_deps", "build_pool", "create_pool", "get_deps"]
