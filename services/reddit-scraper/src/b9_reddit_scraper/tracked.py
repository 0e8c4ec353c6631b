"""Which subreddits the scraper tracks and which names are already known (read-only).

Scrapers never write PostgreSQL; this is the one place that reads it. The table and
column names live here only (persistence's ``subreddits``: name, review, and ``fact_at`` =
occurred_at of the last ``subreddit.fetched``, i.e. last scraped), so adapting to a schema
change is a change to ``TRACKED_SQL`` / ``KNOWN_SQL``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

Mode = Literal["full", "metadata"]
REVIEW_MODES: dict[str, Mode] = {"Ok": "full", "No Seller": "metadata"}

# Ok before No Seller, then never-scraped first, then stalest first.
TRACKED_SQL = """
SELECT name, review FROM subreddits
WHERE review = ANY($1::text[])
ORDER BY (review = 'Ok') DESC, fact_at ASC NULLS FIRST, name
LIMIT $2
"""
KNOWN_SQL = "SELECT lower(name) FROM subreddits"


@dataclass(frozen=True)
class Tracked:
    name: str
    mode: Mode


class TrackedSource(Protocol):
    async def tracked(self, limit: int) -> list[Tracked]:
        """Tracked subreddits in refresh order (approved first, stalest first)."""
        ...

    async def known(self) -> set[str]:
        """Lower-cased names of every subreddit already known (any review)."""
        ...


class NoTracked:
    """Without DATABASE_URL: nothing to cycle over, nothing known beyond this process."""

    async def tracked(self, limit: int) -> list[Tracked]:
        return []

    async def known(self) -> set[str]:
        return set()


class StaticTracked:
    """A fixed list (benchmarks, tests of the cycle)."""

    def __init__(self, items: list[Tracked], known: set[str] | None = None) -> None:
        self.items = items
        self._known = {n.lower() for n in (known or set())} | {t.name.lower() for t in items}

    async def tracked(self, limit: int) -> list[Tracked]:
        return self.items[:limit]

    async def known(self) -> set[str]:
        return set(self._known)


class PgTracked:
    """Read-only queries on persistence's tables; known names cached for ``known_ttl`` s."""

    def __init__(self, pool: Any, *, known_ttl: float = 3600.0) -> None:
        self.pool = pool
        self.known_ttl = known_ttl
        self._known: set[str] = set()
        self._known_at = float("-inf")

    async def tracked(self, limit: int) -> list[Tracked]:
        rows = await self.pool.fetch(TRACKED_SQL, list(REVIEW_MODES), limit)
        return [Tracked(r["name"], REVIEW_MODES[r["review"]]) for r in rows]

    async def known(self) -> set[str]:
        if time.monotonic() - self._known_at > self.known_ttl:
            rows = await self.pool.fetch(KNOWN_SQL)
            self._known = {r[0] for r in rows}
            self._known_at = time.monotonic()
        return set(self._known)


async def open_tracked(database_url: str) -> tuple[TrackedSource, Any]:
    """A PgTracked on a small read-only pool, or NoTracked; also returns the pool (or None)."""
    if not database_url:
        log.info("DATABASE_URL not set: no tracked cycle, commands only")
        return NoTracked(), None
    import asyncpg

    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2,
        server_settings={"default_transaction_read_only": "on",
                         "application_name": "reddit-scraper"},
    )
    return PgTracked(pool), pool
