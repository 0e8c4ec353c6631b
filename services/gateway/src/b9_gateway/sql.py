"""A tiny parameterised SQL builder: every user value becomes a ``$n`` parameter."""

from __future__ import annotations

import time
from typing import Any

import asyncpg


def like_prefix(text: str) -> str:
    """``text`` as a LIKE prefix pattern with its own wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"


class Where:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.clauses: list[str] = []

    def p(self, value: Any) -> str:
        """Bind ``value``; returns its placeholder."""
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, clause: str, *values: Any) -> None:
        """``clause`` with ``{}`` placeholders filled by bound values."""
        self.clauses.append(clause.format(*(self.p(v) for v in values)))

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


COUNT_TTL = 2.0
_counts: dict[tuple[Any, ...], tuple[float, int]] = {}


def invalidate_counts() -> None:
    """Forget cached totals (called after every write this process makes)."""
    _counts.clear()


async def paged(
    pool: asyncpg.Pool, select: str, from_: str, where: Where, order: str, page: int, per_page: int
) -> tuple[list[asyncpg.Record], int]:
    """Rows of one page and the total. Totals are cached for ``COUNT_TTL`` seconds per
    (query, parameters) in this process, so a list being paged or polled counts once."""
    cond = where.sql()
    params = list(where.params)
    lim, off = where.p(per_page), where.p((page - 1) * per_page)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {select} FROM {from_}{cond} ORDER BY {order} LIMIT {lim} OFFSET {off}",
            *where.params,
        )
        if page == 1 and len(rows) < per_page:
            return list(rows), len(rows)
        key = (from_, cond, *(tuple(p) if isinstance(p, list) else p for p in params))
        now = time.monotonic()
        hit = _counts.get(key)
        if hit is not None and now - hit[0] < COUNT_TTL:
            return list(rows), hit[1]
        total = int(await conn.fetchval(f"SELECT count(*) FROM {from_}{cond}", *params))
    if len(_counts) > 2000:
        _counts.clear()
    _counts[key] = (now, total)
    return list(rows), total
