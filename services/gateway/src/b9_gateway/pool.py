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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy


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
