"""Which creators to track, and which are known: the scraper's only read of the read model.

``CreatorDirectory`` is the interface; ``PgDirectory`` (directory_pg.py) holds every SQL
query in one small module; ``NullDirectory`` is used without ``DATABASE_URL`` (then the cycle
has nothing to track and only commands run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TrackedCreator:
    ig_user_id: str
    username: str
    niche: str | None = None


class CreatorDirectory(Protocol):
    async def approved(self, limit: int) -> list[TrackedCreator]:
        """Creators people approved (review status ok) with a known Instagram id."""
        ...

    async def related_pending(self, limit: int) -> list[TrackedCreator]:
        """Approved creators whose related creators have not been processed yet."""
        ...

    async def known_usernames(self, usernames: list[str]) -> set[str]:
        """The subset (lower case) of ``usernames`` already stored."""
        ...

    async def known_ids(self, ig_user_ids: list[str]) -> set[str]: ...

    async def close(self) -> None: ...


class NullDirectory:
    async def approved(self, limit: int) -> list[TrackedCreator]:
        return []

    async def related_pending(self, limit: int) -> list[TrackedCreator]:
        return []

    async def known_usernames(self, usernames: list[str]) -> set[str]:
        return set()

    async def known_ids(self, ig_user_ids: list[str]) -> set[str]:
        return set()

    async def close(self) -> None:
        return None


class StaticDirectory:
    """An in-memory directory (tests, and a fixed list of creators to track)."""

    def __init__(
        self,
        approved: list[TrackedCreator] | None = None,
        known: set[str] | None = None,
        known_ids: set[str] | None = None,
    ) -> None:
        self._approved = list(approved or [])
        self.processed: set[str] = set()
        self._known = {k.lower() for k in known or set()}
        self._known_ids = set(known_ids or set())

    async def approved(self, limit: int) -> list[TrackedCreator]:
        return self._approved[:limit]

    async def related_pending(self, limit: int) -> list[TrackedCreator]:
        return [c for c in self._approved if c.ig_user_id not in self.processed][:limit]

    async def known_usernames(self, usernames: list[str]) -> set[str]:
        return {u.lower() for u in usernames if u.lower() in self._known}

    async def known_ids(self, ig_user_ids: list[str]) -> set[str]:
        return {i for i in ig_user_ids if i in self._known_ids}

    async def close(self) -> None:
        return None
