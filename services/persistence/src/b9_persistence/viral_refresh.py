"""The viral posts snapshot (migration 0098): refreshed here, the read model's only writer.

Every ``viral_refresh_s`` seconds one call of ``viral_refresh()`` (a SQL function of 0098) takes
the dashboard's windows' viral posts as of now, in its own connection (a batch's connection is
not held for it). It is skipped while nothing was stored since the last refresh and the last one
is younger than ``IDLE_MAX_S`` (the windows slide: an idle read model still needs a refresh now
and then). Below ``viral_snapshot_min_subreddits`` 'Ok' subreddits it keeps no snapshot (the
gateway computes live; cheap there). While persistence drains a backlog (``BUSY_RATE``) it waits,
up to ``BUSY_MAX_S``: a refresh is 15-20 s of one core at 10x, taken from the drain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

# Unchanged data: refresh anyway this often (the windows slide).
IDLE_MAX_S = 900.0
# Writing faster than this (rows/s: a backlog or a bulk load): each refresh would be stale
# at once and its CPU would slow the drain; wait, up to BUSY_MAX_S since the last one.
BUSY_RATE = 1000.0
BUSY_MAX_S = 1800.0


class ViralRefresher:
    """Runs ``viral_refresh`` every ``interval`` seconds (0: never) when due (``due``)."""

    def __init__(self, url: str, interval: float, min_subreddits: int, stored: Callable[[], int]) -> None:
        self.url = url
        self.interval = interval
        self.min_subreddits = min_subreddits
        self.stored = stored  # rows written so far: what changed since the last refresh
        self.last_stored = -1  # at the last refresh
        self.last_at: float | None = None  # time.monotonic() of the last refresh
        self.tick_stored = 0  # at the last tick, and when
        self.tick_at = time.monotonic()

    async def refresh(self) -> int:
        """One refresh now; returns ``viral_refresh``'s answer (rows kept, -1 none kept, -2 busy)."""
        t0 = time.perf_counter()
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            await conn.execute("SET jit = off")  # estimated dear (a probe per 'Ok' subreddit), cheap to plan
            n: int = await conn.fetchval("SELECT viral_refresh($1)", self.min_subreddits, timeout=600)
        finally:
            await conn.close()
        log.info("viral snapshot refreshed: %d rows in %.1f s", n, time.perf_counter() - t0)
        return n

    async def _snapshot_age(self) -> float | None:
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            age = await conn.fetchval("SELECT extract(epoch FROM now() - min(as_of))::float8 FROM viral_snapshot")
        finally:
            await conn.close()
        return None if age is None else float(age)

    def due(self, stored: int, now: float) -> bool:
        """Something was stored since the last refresh (and persistence is not draining a backlog
        faster than ``BUSY_RATE``, or the last refresh is ``BUSY_MAX_S`` old), or the windows have
        slid ``IDLE_MAX_S`` since."""
        assert self.last_at is not None
        age = now - self.last_at
        if stored == self.last_stored:
            return age >= IDLE_MAX_S
        rate = (stored - self.tick_stored) / max(now - self.tick_at, 1e-3)
        return rate < BUSY_RATE or age >= BUSY_MAX_S

    async def tick(self) -> bool:
        """Refresh when due; returns whether it did."""
        stored, now = self.stored(), time.monotonic()
        if self.last_at is None:  # just started: only without a snapshot at once (a start is often busy)
            fresh = await self._snapshot_age() is None
            if fresh:
                await self.refresh()
            self.last_stored, self.last_at = stored, now
            self.tick_stored, self.tick_at = stored, now
            return fresh
        due = self.due(stored, now)
        self.tick_stored, self.tick_at = stored, now
        if not due:
            return False
        await self.refresh()
        self.last_stored, self.last_at = stored, now
        return True

    async def run(self) -> None:
        """Forever (a service stops when one of its loops returns); disabled: just waits."""
        if self.interval <= 0:
            await asyncio.Event().wait()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away, a timeout: the next round tries again
                log.exception("viral snapshot refresh failed")
            await asyncio.sleep(self.interval)
