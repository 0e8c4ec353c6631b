"""Pages of the read model's lists with exact totals counted in the background and cached.

The SQL itself (``Where``, ``page_sql``, the lists' columns and filters) is the read model's
(``b9_readmodel``); this module decides how it runs in the gateway."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from b9_readmodel.sql import ListQuery, SortKey, count_sql, deferred, first_sql, keyset_sql, page_sql

from b9_gateway import cursor
from b9_gateway.http import invalid
from b9_gateway.pool import FairPool

log = logging.getLogger(__name__)


def _retrieved(task: asyncio.Task[int]) -> None:
    if not task.cancelled():
        task.exception()  # logged in _count already


class Totals:
    """Exact list totals cached per (query, parameters) in this process.

    A total is fresh for ``ttl(cost)``: 100x the time the count took (counting takes at
    most 1 % of a core per list key and process), at least 2 s and at most ``MAX_TTL``
    (a 150 ms count of 780 k image posts is redone every 15 s, not on every request).
    When it is older, requests keep the previous total while one background count per
    key refreshes it (never a herd of identical counts); past ``MAX_STALE`` or after a
    write through this process (``invalidate``) they wait for that single count.
    """

    MIN_TTL, MAX_TTL, MAX_STALE, MAX_KEYS = 2.0, 30.0, 60.0, 2000

    def __init__(self) -> None:
        self._values: dict[tuple[Any, ...], tuple[int, float, float]] = {}  # key -> total, at, ttl
        self._inflight: dict[tuple[int, tuple[Any, ...]], asyncio.Task[int]] = {}
        self._generation = 0

    def ttl(self, cost: float) -> float:
        return max(self.MIN_TTL, min(self.MAX_TTL, 100 * cost))

    def invalidate(self) -> None:
        self._values.clear()
        self._generation += 1

    async def get(self, key: tuple[Any, ...], count: Callable[[], Awaitable[int]]) -> int:
        hit = self._values.get(key)
        if hit is not None:
            age = time.monotonic() - hit[1]
            if age < hit[2]:
                return hit[0]
            if age < self.MAX_STALE:
                self._refresh(key, count)
                return hit[0]
        return await asyncio.shield(self._refresh(key, count))

    def _refresh(self, key: tuple[Any, ...], count: Callable[[], Awaitable[int]]) -> asyncio.Task[int]:
        flight = (self._generation, key)  # a count started before a write is not reused after it
        task = self._inflight.get(flight)
        if task is None:
            task = self._inflight[flight] = asyncio.create_task(self._count(key, count))
            task.add_done_callback(_retrieved)  # a background refresh nobody awaits may fail
        return task

    async def _count(self, key: tuple[Any, ...], count: Callable[[], Awaitable[int]]) -> int:
        generation, t0 = self._generation, time.monotonic()
        try:
            total = await count()
        except Exception:
            log.warning("list total failed", exc_info=True)
            raise
        finally:
            self._inflight.pop((generation, key), None)
        now = time.monotonic()
        if generation == self._generation:
            if len(self._values) >= self.MAX_KEYS:
                self._values.clear()
            self._values[key] = (total, now, self.ttl(now - t0))
        return total


_TOTALS: dict[int, tuple[asyncpg.Pool, Totals]] = {}


def totals_for(pool: asyncpg.Pool) -> Totals:
    """The totals of one pool (one database): apps sharing a process never share totals."""
    hit = _TOTALS.get(id(pool))
    if hit is not None and hit[0] is pool:
        return hit[1]
    for key, (other, _) in list(_TOTALS.items()):
        if other.is_closing():
            del _TOTALS[key]
    totals = Totals()
    _TOTALS[id(pool)] = (pool, totals)
    return totals


def invalidate_counts() -> None:
    """Forget cached totals (called after every write request this process serves)."""
    for _, totals in _TOTALS.values():
        totals.invalidate()


# From this offset on, a page with a ``key`` is read as a deferred join (see ``page_sql``).
DEFER_OFFSET = 1_000


async def paged(pool: asyncpg.Pool, query: ListQuery, page: int, per_page: int) -> tuple[list[asyncpg.Record], int]:
    """Rows of one page of ``query`` and the total (exact: from the page itself when it is the last
    one, else from ``totals_for(pool)``: one count per query and parameters every few seconds).
    Past ``DEFER_OFFSET`` a query with a ``key`` is read as a deferred join."""
    where = query.where
    cond, params = where.sql(), list(where.params)
    offset = (page - 1) * per_page
    lim, off = where.p(per_page), where.p(offset)
    deep_key = query.key if offset >= DEFER_OFFSET or query.defer else None
    rows = await pool.fetch(page_sql(query.select, query.from_, cond, query.order, lim, off, deep_key), *where.params)
    if len(rows) < per_page and (rows or page == 1):
        return rows, offset + len(rows)
    return rows, await _total(pool, query.from_, cond, params)


async def listing(
    pool: asyncpg.Pool, query: ListQuery, page: int, per_page: int, after: str | None
) -> tuple[list[asyncpg.Record], int, str | None]:
    """One page of ``query`` (which has a ``sort``): by number (``paged``) or, with ``after`` (a
    cursor from an earlier page's ``next``), the rows after that row, read as one index range
    (``keyset_sql``: a deep page costs what the first one does); the total (cached, as
    ``paged``); the page's ``next``: the cursor of its last row when the page is full (there may
    be more rows), else None. A cursor of another list, sort or order, an altered one, or one
    given with ``page`` > 1 is a 422 naming ``after``."""
    sk = query.sort
    assert sk is not None, "a list paged by cursor has a SortKey"
    if after is None and page == 1 and sk.col is not None and sk.nullable and not sk.desc:
        rows, total = await _first(pool, query, per_page)
    elif after is None:
        rows, total = await paged(pool, query, page, per_page)
    else:
        if page > 1:
            raise invalid("query", "after", "`after` and `page` > 1 together: page by one or the other")
        try:
            value, key = cursor.decode(sk, after)
        except cursor.CursorError as exc:
            raise invalid("query", "after", str(exc)) from None
        where = query.where
        cond, params = where.sql(), list(where.params)
        lim, at = where.p(per_page), where.p(value) if value is not None else None
        k = where.p(key)
        sql = _maybe_deferred(query, lambda cols, s: keyset_sql(cols, query.from_, cond, s, lim, at, k))
        rows = await pool.fetch(sql, *where.params)
        total = await _total(pool, query.from_, cond, params)
    return rows, total, cursor.encode(sk, rows[-1]) if rows and len(rows) == per_page else None


async def _first(pool: asyncpg.Pool, query: ListQuery, per_page: int) -> tuple[list[asyncpg.Record], int]:
    """Page 1 of an ascending order of a nullable column (``first_sql``: two index ranges, not
    a sort of the whole list) and the total, as ``paged``."""
    assert query.sort is not None
    where = query.where
    cond, params = where.sql(), list(where.params)
    lim = where.p(per_page)
    rows = await pool.fetch(
        _maybe_deferred(query, lambda cols, s: first_sql(cols, query.from_, cond, s, lim)), *where.params
    )
    return rows, len(rows) if len(rows) < per_page else await _total(pool, query.from_, cond, params)


def _maybe_deferred(query: ListQuery, page: Callable[[str, SortKey], str]) -> str:
    """``page`` of ``query``'s columns, or of its key only as a deferred join (``ListQuery.defer``)."""
    assert query.sort is not None
    return deferred(query.select, query.from_, query.sort, page) if query.defer else page(query.select, query.sort)


async def _total(pool: asyncpg.Pool, from_: str, cond: str, params: list[Any]) -> int:
    """The exact total of the rows ``cond`` (with ``params``) leaves in ``from_``, from
    ``totals_for(pool)``."""
    count_key = (from_, cond, *(tuple(p) if isinstance(p, list) else p for p in params))

    async def count() -> int:
        # On the pool's background lane (never a connection a request waits for), one process,
        # not a parallel plan: a refresh needs no speed, and on a small box three processes
        # scanning at once stall every request (posts: ~3x the CPU).
        lane = pool.acquire_background() if isinstance(pool, FairPool) else pool.acquire()
        async with lane as conn, conn.transaction(readonly=True):
            await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            return int(await conn.fetchval(count_sql(from_, cond), *params))

    return await totals_for(pool).get(count_key, count)
