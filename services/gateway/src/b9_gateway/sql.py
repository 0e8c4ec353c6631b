"""A tiny parameterised SQL builder: every user value becomes a ``$n`` parameter."""

from __future__ import annotations

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


async def paged(
    pool: asyncpg.Pool, select: str, from_: str, where: Where, order: str, page: int, per_page: int
) -> tuple[list[asyncpg.Record], int]:
    """Rows of one page and the total, as two statements on one connection."""
    cond = where.sql()
    lim, off = where.p(per_page), where.p((page - 1) * per_page)
    n = len(where.params) - 2
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {select} FROM {from_}{cond} ORDER BY {order} LIMIT {lim} OFFSET {off}",
            *where.params,
        )
        if page == 1 and len(rows) < per_page:
            total = len(rows)
        else:
            total = await conn.fetchval(f"SELECT count(*) FROM {from_}{cond}", *where.params[:n])
    return list(rows), int(total)
