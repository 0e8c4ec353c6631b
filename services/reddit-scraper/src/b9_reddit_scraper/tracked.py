"""Which subreddits the scraper tracks and which names are already known (read-only).

Scrapers never write PostgreSQL; this is the one place that reads it, through the read
model's own queries (``b9_readmodel.tracking``: the SQL and column names live there).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from b9_readmodel.tracking import known_subreddit_names, tracked_subreddits

log = logging.getLogger(__name__)

Mode = Literal["full", "metadata"]
REVIEW_MODES: dict[str, Mode] = {"Ok": "full", "No Seller": "metadata"}


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
    """Read-only queries on the read model; known names cached for ``known_ttl`` s."""

    def __init__(self, pool: Any, *, known_ttl: float = 3600.0) -> None:
        self.pool = pool
        self.known_ttl = known_ttl
        self._known: set[str] = set()
        self._known_at = float("-inf")

    async def tracked(self, limit: int) -> list[Tracked]:
        rows = await tracked_subreddits(self.pool, list(REVIEW_MODES), limit)
        return [Tracked(r.name, REVIEW_MODES[r.review]) for r in rows]

    async def known(self) -> set[str]:
        if time.monotonic() - self._known_at > self.known_ttl:
            self._known = await known_subreddit_names(self.pool)
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
