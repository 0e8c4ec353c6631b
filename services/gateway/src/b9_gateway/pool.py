"""The gateway's database connections: a plain asyncpg pool for requests behind a gate
(``lanes.Lanes``: first come, first served, interactive work first), and a small plain pool of
its own for background work. No asyncpg internals: the gate admits at most as many holders as
the request pool has connections, so asyncpg's own (LIFO, unfair) queue never has a waiter.

Background work (a list's total, refreshed every few seconds: an index-only count of 780 k
posts holds a connection for 80-300 ms) goes through ``acquire_background()``, on the
``background`` pool: it never takes a connection a request is waiting for (with 2
connections per worker, a count in the request lane halved the worker's capacity while it
ran and was the posts list's p99).

Both asyncpg pools have ``min_size=0``: asyncpg's upkeep of a connection floor logs a
warning with a stack trace on every retry while the server is down. ``FairPool`` opens
``min_size`` connections at start instead (a bad DATABASE_URL fails at start, the first
requests find them open); idle connections close after ``max_inactive_connection_lifetime``.

PostgreSQL down: a connection that cannot be made raises ``DatabaseUnavailable`` (the app
answers 503 with Retry-After), and ``Outage`` logs ONE line when the database goes away and
one when a connection works again, however many requests fail in between.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from b9_gateway.lanes import BULK, Lanes

log = logging.getLogger(__name__)
# What "the server is not there" looks like: refused/unreachable sockets, a server starting
# up or shutting down, a connection dropped in the middle of a query, no free backend slot.
DB_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached right now (the request is answered 503, Retry-After)."""


class Outage:
    """The database's state as the requests see it; logs only the transitions."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.failed = 0

    def down(self, exc: BaseException, *, request: bool = True) -> None:
        self.failed += request
        if self.since is None:
            self.since = time.monotonic()
            log.error("database unavailable (%s: %s): answering 503 until it is back",
                      type(exc).__name__, str(exc)[:200])

    def up(self) -> None:
        if self.since is not None:
            log.warning("database available again after %.1f s (%d requests answered 503)",
                        time.monotonic() - self.since, self.failed)
            self.since, self.failed = None, 0


class FairPool:
    """Request connections through ``Lanes`` over a plain ``asyncpg.Pool`` of ``max_size``,
    and ``acquire_background()`` over a plain pool of ``background`` connections. Takes
    ``asyncpg.create_pool``'s options; ``await pool`` opens it."""

    def __init__(self, dsn: str, *, max_size: int, min_size: int = 0, background: int = 1,
                 burst: int = 4, **options: Any) -> None:
        options.pop("loop", None)
        self._requests = asyncpg.create_pool(dsn, min_size=0, max_size=max_size, **options)
        self._background = asyncpg.create_pool(dsn, min_size=0, max_size=background, **options)
        self._warm = min(min_size, max_size)
        self._gate = Lanes(max_size, burst)
        self._held: set[PoolConnectionProxy] = set()
        self.outage = Outage()

    def __await__(self) -> Generator[Any, None, FairPool]:
        return self._open().__await__()

    async def _open(self) -> FairPool:
        await self._requests
        await self._background
        conns = [await self._requests.acquire() for _ in range(self._warm)]
        for conn in conns:
            await self._requests.release(conn)
        return self

    def waiting(self) -> int:
        """Requests queued for a connection right now."""
        return self._gate.waiting()

    def get_size(self) -> int:
        """Open connections (requests and background)."""
        return self._requests.get_size() + self._background.get_size()

    def acquire(self, *, timeout: float | None = None) -> Lease:
        """A request connection: ``async with pool.acquire() as conn`` or ``await`` it and
        ``release`` it. Bulk when ``lanes.BULK`` is set, else interactive."""
        return Lease(partial(self._acquire, timeout), self.release)

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:
        interactive = not BULK.get()
        if timeout is None:
            await self._gate.enter(interactive)
        else:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            async with asyncio.timeout(timeout):
                await self._gate.enter(interactive)
            timeout = max(0.0, deadline - loop.time())
        try:
            conn: PoolConnectionProxy = await self._requests.acquire(timeout=timeout)
        except DB_DOWN as exc:
            self._gate.leave()
            self.outage.down(exc)
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._gate.leave()
            raise
        self._held.add(conn)
        return conn

    async def release(self, conn: PoolConnectionProxy, *, timeout: float | None = None) -> None:
        """Return a request connection (a second release of the same one changes nothing)."""
        if conn not in self._held:
            await self._requests.release(conn, timeout=timeout)  # no-op, or asyncpg's error
            return
        self._held.discard(conn)
        if self.outage.since is not None and not conn.is_closed():
            self.outage.up()  # a connection that was made and still stands: the server is back
        try:
            await self._requests.release(conn, timeout=timeout)
        finally:
            self._gate.leave()

    def acquire_background(self, timeout: float | None = None) -> Lease:
        """``async with pool.acquire_background() as conn``: a connection for work no request
        is waiting on (the background pool)."""
        return Lease(partial(self._acquire_background, timeout), self._background.release)

    async def _acquire_background(self, timeout: float | None) -> PoolConnectionProxy:
        try:
            conn: PoolConnectionProxy = await self._background.acquire(timeout=timeout)
        except DB_DOWN as exc:
            self.outage.down(exc)
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return conn

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[Any]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, **kwargs)

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args, **kwargs)

    def is_closing(self) -> bool:
        return bool(self._requests.is_closing())

    async def close(self) -> None:
        await asyncio.gather(self._requests.close(), self._background.close())

    def terminate(self) -> None:
        self._requests.terminate()
        self._background.terminate()


class Lease:
    """One connection as an async context manager (``async with pool.acquire() as conn``),
    or awaitable (``conn = await pool.acquire()``, then ``pool.release(conn)``)."""

    __slots__ = ("conn", "get", "put")

    def __init__(self, get: Callable[[], Awaitable[PoolConnectionProxy]],
                 put: Callable[[PoolConnectionProxy], Awaitable[None]]) -> None:
        self.get, self.put = get, put
        self.conn: PoolConnectionProxy | None = None

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy]:
        return self.get().__await__()

    async def __aenter__(self) -> PoolConnectionProxy:
        self.conn = await self.get()
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.put(conn)
