"""An asyncpg pool that hands out connections first come, first served, with a separate
lane for background work.

asyncpg's pool keeps idle connections in an ``asyncio.LifoQueue``. When a connection is
released, the queue wakes the longest waiter, but any request arriving before that waiter
runs takes the connection (``get`` finds the queue non-empty), and the woken waiter goes
back to the END of the line. Under steady load (64 clients, 10 connections per worker) most
requests get a connection at once and a few wait for many rounds: measured at full scale,
pool.acquire took 0 ms at the median and 64-164 ms at p99, the bulk of the list routes'
p99. ``FairPool`` puts a FIFO gate with direct hand-off in front of the queue: a released
slot goes to the oldest waiter, never to a newcomer, so the wait is the queue's length
times the service time, the same for everyone.

Background work (a list's total, refreshed every few seconds: an index-only count of
780 k posts holds a connection for 80-300 ms) goes through ``acquire_background()``, a
gate of its own over ``background`` extra connections: it never takes a connection a
request is waiting for (with 2 connections per worker, a count in the request lane halved
the worker's capacity while it ran and was the posts list's p99).

PostgreSQL down: a connection that cannot be made raises ``DatabaseUnavailable`` (the app
answers 503 with Retry-After), and ``Outage`` logs ONE line when the database goes away and
one when a connection works again, however many requests fail in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

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


class _Gate:
    """At most ``size`` holders; a freed slot goes to the oldest waiter."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiters: deque[asyncio.Future[None]] = deque()

    def waiting(self) -> int:
        return sum(1 for f in self.waiters if not f.done())

    async def enter(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut  # the slot is handed over by leave (no counting here)
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.leave()  # handed a slot while being cancelled: pass it on
            else:
                fut.cancel()
                with contextlib.suppress(ValueError):
                    self.waiters.remove(fut)
            raise

    def leave(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class FairPool(asyncpg.Pool):
    """``asyncpg.Pool`` whose ``acquire`` is strictly FIFO (at most ``max_size`` holders),
    plus ``acquire_background()`` over ``background`` connections of their own."""

    def __init__(self, *args: Any, max_size: int, background: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size + background, **kwargs)
        self._fg = _Gate(max_size)
        self._bg = _Gate(background)
        self._bg_holders: set[Any] = set()
        self.outage = Outage()

    async def _maintain_min_size(self) -> None:
        """asyncpg's min-size upkeep (reconnects after connections were lost), reporting to
        ``outage`` instead of logging a traceback on every retry while the server is down."""
        retry_delay = 1.0
        try:
            while not self.is_closing() and self.get_size() < self._minsize:
                try:
                    holder = self._queue.get_disconnected_nowait()
                except asyncio.QueueEmpty:
                    return  # acquirers are connecting the rest
                failed = False
                try:
                    if holder._con is not None:
                        holder.terminate()
                    await holder.connect()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self.is_closing():
                        return
                    failed = True
                    self.outage.down(exc, request=False)
                else:
                    self.outage.up()
                finally:
                    self._queue.put_nowait(holder)
                if failed:
                    await asyncio.sleep(retry_delay)
                    retry_delay = min(retry_delay * 2, 30.0)
                else:
                    retry_delay = 1.0
        finally:
            self._maintenance_task = None

    def waiting(self) -> int:
        """Requests queued for a connection right now."""
        return self._fg.waiting()

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:
        return await self._through(self._fg, timeout)

    async def _through(self, gate: _Gate, timeout: float | None) -> PoolConnectionProxy:
        if timeout is None:
            await gate.enter()
        else:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            await asyncio.wait_for(gate.enter(), timeout)
            timeout = max(0.0, deadline - loop.time())
        try:
            proxy: PoolConnectionProxy = await super()._acquire(timeout)
        except DB_DOWN as exc:
            gate.leave()
            self.outage.down(exc)
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            gate.leave()
            raise
        if gate is self._bg:
            self._bg_holders.add(proxy._holder)
        return proxy

    @contextlib.asynccontextmanager
    async def acquire_background(self, timeout: float | None = None) -> AsyncIterator[PoolConnectionProxy]:
        """A connection for work no request is waiting on (FIFO among background users)."""
        conn = await self._through(self._bg, timeout)
        try:
            yield conn
        finally:
            await self.release(conn)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        gate = None
        con = getattr(connection, "_con", None)
        if self.outage.since is not None and con is not None and not con.is_closed():
            self.outage.up()  # a connection that was made and still stands: the server is back
        if type(connection) is PoolConnectionProxy and connection._con is not None:
            holder = connection._holder
            if holder._pool is self:
                gate = self._fg
                if holder in self._bg_holders:
                    self._bg_holders.discard(holder)
                    gate = self._bg
        try:
            await super().release(connection, timeout=timeout)
        finally:
            if gate is not None:
                gate.leave()
