"""The directory on PostgreSQL: the read model's own queries (``b9_readmodel.tracking``), read only.

The SQL and the column names (``instagram_creators``: ``review_status``, ``niche``,
``related_processed``, ``fact_at``; ``pending:<username>`` ids of creators added by hand)
live in the read model's package, which persistence owns.
"""

from __future__ import annotations

import asyncpg
from b9_readmodel import tracking
from b9_readmodel.tracking import DirectoryCreator

from b9_instagram_scraper.directory import TrackedCreator


def _tracked(rows: list[DirectoryCreator]) -> list[TrackedCreator]:
    return [TrackedCreator(r.ig_user_id, r.username, r.niche) for r in rows]


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
        return _tracked(await tracking.approved_creators(await self._p(), limit))

    async def related_pending(self, limit: int) -> list[TrackedCreator]:
        return _tracked(await tracking.related_pending_creators(await self._p(), limit))

    async def known_usernames(self, usernames: list[str]) -> set[str]:
        if not usernames:
            return set()
        return await tracking.known_usernames(await self._p(), usernames)

    async def known_ids(self, ig_user_ids: list[str]) -> set[str]:
        if not ig_user_ids:
            return set()
        return await tracking.known_creator_ids(await self._p(), ig_user_ids)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
