"""Every SQL query the scraper runs (read only) against persistence's read model.

Tables (services/persistence/.../migrations/0002_read_model.sql): ``instagram_creators``
(``ig_user_id`` key, ``username``, ``review_status``, ``niche``, ``related_processed``,
``fact_at`` = last scraped). A creator added by hand before its first scrape has
``ig_user_id = 'pending:<username>'``; it is tracked by username like the others.
"""

from __future__ import annotations

import asyncpg

from b9_instagram_scraper.directory import TrackedCreator

_APPROVED = """
SELECT ig_user_id, username, niche FROM instagram_creators
WHERE review_status = 'ok' AND username IS NOT NULL
ORDER BY fact_at ASC NULLS FIRST LIMIT $1"""
_RELATED_PENDING = """
SELECT ig_user_id, username, niche FROM instagram_creators
WHERE review_status = 'ok' AND username IS NOT NULL AND NOT related_processed
  AND ig_user_id NOT LIKE 'pending:%'
ORDER BY fact_at DESC NULLS LAST LIMIT $1"""
_KNOWN_USERNAMES = (
    "SELECT lower(username) AS u FROM instagram_creators WHERE lower(username) = ANY($1::text[])"
)
_KNOWN_IDS = "SELECT ig_user_id FROM instagram_creators WHERE ig_user_id = ANY($1::text[])"


class PgDirectory:
    """Connects lazily, so a database that is down at start delays the cycle, not the service."""

    def __init__(self, dsn: str = "", pool: asyncpg.Pool | None = None) -> None:
        self.dsn = dsn
        self._pool = pool

    async def _p(self) -> asyncpg.Pool:
        if self._pool is None:
            pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2, command_timeout=30)
            assert pool is not None
            self._pool = pool
        return self._pool

    async def approved(self, limit: int) -> list[TrackedCreator]:
        rows = await (await self._p()).fetch(_APPROVED, limit)
        return [TrackedCreator(r["ig_user_id"], r["username"], r["niche"]) for r in rows]

    async def related_pending(self, limit: int) -> list[TrackedCreator]:
        rows = await (await self._p()).fetch(_RELATED_PENDING, limit)
        return [TrackedCreator(r["ig_user_id"], r["username"], r["niche"]) for r in rows]

    async def known_usernames(self, usernames: list[str]) -> set[str]:
        if not usernames:
            return set()
        rows = await (await self._p()).fetch(_KNOWN_USERNAMES, [u.lower() for u in usernames])
        return {r["u"] for r in rows}

    async def known_ids(self, ig_user_ids: list[str]) -> set[str]:
        if not ig_user_ids:
            return set()
        rows = await (await self._p()).fetch(_KNOWN_IDS, ig_user_ids)
        return {r["ig_user_id"] for r in rows}

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
