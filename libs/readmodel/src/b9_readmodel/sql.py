"""Building blocks of the queries: the connection type, parameterised WHERE clauses, pages.

Every user value becomes a ``$n`` parameter; identifiers (columns, sort orders) come from this
package's own tables of allowed names, never from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

# A pool (the gateway's fair pool is one) or one connection: both have fetch/fetchrow/fetchval.
Db = asyncpg.Pool | asyncpg.Connection


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


def page_sql(select: str, from_: str, cond: str, order: str, lim: str, off: str, deep_key: str | None) -> str:
    """One page. With ``deep_key`` (the table's unique key, and an index matching ``order`` that
    holds it), only that key is walked past the offset, as an index-only scan, and then just the
    page's rows are read: page 10,000 of 1.83 M posts in 25-60 ms instead of 1.1-1.4 s of heap reads
    for the 499,950 rows skipped."""
    if deep_key is None:
        return f"SELECT {select} FROM {from_}{cond} ORDER BY {order} LIMIT {lim} OFFSET {off}"
    return (
        f"SELECT {select} FROM {from_} JOIN (SELECT {deep_key} FROM {from_}{cond} ORDER BY {order} "
        f"LIMIT {lim} OFFSET {off}) AS deep USING ({deep_key}) ORDER BY {order}"
    )


def count_sql(from_: str, cond: str) -> str:
    """The exact total of a list (see ``ListQuery``)."""
    return f"SELECT count(*) FROM {from_}{cond}"


@dataclass(frozen=True)
class ListQuery:
    """One filtered, ordered list of the read model, not yet run: the gateway reads a page of it
    with ``page_sql`` and its exact total with ``count_sql`` (cached, on its own schedule).
    ``key``: the table's unique key, for deep pages read as a deferred join (or None)."""

    select: str
    from_: str
    where: Where
    order: str
    key: str | None = None
