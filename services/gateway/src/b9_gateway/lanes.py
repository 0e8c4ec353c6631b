"""The gate in front of the request connections: first come, first served, interactive first.

asyncpg's pool keeps idle connections in an ``asyncio.LifoQueue``. When a connection is
released, the queue wakes the longest waiter, but any request arriving before that waiter
runs takes the connection, and the woken waiter goes back to the END of the line: under
steady load most requests got a connection at once and a few waited for many rounds
(measured at full scale: 0 ms at the median, 64-164 ms at p99). ``Lanes`` admits at most
``size`` holders and hands a freed slot directly to a waiter, never to a newcomer, so the
wait is the line's length times the service time, the same for everyone in a lane.

Two lanes. ``bulk`` is the list pages (their ``QueryRoute`` marks them, ``BULK``); everything else
a person waits on is ``interactive``: a decision's checks, a detail page after a click, a
reload. A freed slot goes to the oldest interactive waiter first, so 64 saturating list
clients cannot put a decision behind 30 list queries per worker (it waits for one release,
not for the line). Interactive work cannot starve the lists either: after ``burst``
interactive hand-offs in a row while a list waits, the next slot goes to the oldest list.
No connection is reserved: with nothing interactive waiting, the lists use every slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar

# True while a request of the bulk lane runs (set by ``query.QueryRoute`` around a list page).
BULK: ContextVar[bool] = ContextVar("b9_gateway_bulk", default=False)


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Queries made inside go through the bulk lane."""
    token = BULK.set(True)
    try:
        yield
    finally:
        BULK.reset(token)


class Lanes:
    """At most ``size`` holders; a freed slot goes to the oldest interactive waiter (at most
    ``burst`` in a row while a bulk waiter waits), else to the oldest bulk waiter."""

    def __init__(self, size: int, burst: int = 4) -> None:
        if size < 1 or burst < 1:
            raise ValueError("size and burst must be at least 1")
        self.free = size
        self.burst = burst
        self.streak = 0  # interactive hand-offs in a row while bulk waited
        self.interactive: deque[asyncio.Future[None]] = deque()
        self.bulk: deque[asyncio.Future[None]] = deque()

    def waiting(self) -> int:
        return sum(not f.done() for line in (self.interactive, self.bulk) for f in line)

    async def enter(self, interactive: bool = True) -> None:
        """Wait for a slot (cancellable: a cancelled waiter leaves the line, or passes on a
        slot it was handed in the meantime)."""
        if self.free > 0 and not self.interactive and not self.bulk:
            self.free -= 1
            return
        line = self.interactive if interactive else self.bulk
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(fut)
        try:
            await fut  # the slot is handed over by leave() (no counting here)
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.leave()  # handed a slot while being cancelled: pass it on
            else:
                fut.cancel()
                with contextlib.suppress(ValueError):
                    line.remove(fut)
            raise

    def leave(self) -> None:
        """Give the slot back: to the next waiter, or to ``free``."""
        nxt = self._next()
        if nxt is None:
            self.free += 1
        else:
            nxt.set_result(None)

    def _next(self) -> asyncio.Future[None] | None:
        hi, lo = _live(self.interactive), _live(self.bulk)
        if hi and lo and self.streak >= self.burst:
            self.streak = 0
            return lo.popleft()
        if hi:
            self.streak = self.streak + 1 if lo else 0
            return hi.popleft()
        self.streak = 0
        return lo.popleft() if lo else None


def _live(line: deque[asyncio.Future[None]]) -> deque[asyncio.Future[None]]:
    """``line`` without the waiters at its head that were cancelled (their task has not run
    yet to take them out)."""
    while line and line[0].done():
        line.popleft()
    return line
