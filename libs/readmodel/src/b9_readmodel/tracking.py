"""What the scrapers read: the subreddits and creators to track, and which are already known.

Scrapers never write PostgreSQL. Tables (migration 0002): ``subreddits`` (``name``, ``review``,
``fact_at`` = occurred_at of the last ``subreddit.fetched``, i.e. last scraped) and
``instagram_creators`` (``ig_user_id`` key, ``username``, ``review_status``, ``niche``,
``related_processed``, ``fact_at``). A creator added by hand before its first scrape has
``ig_user_id = 'pending:<username>'``; it is tracked by username like the others.
"""

from __future__ import annotations

import asyncpg
import msgspec

from b9_readmodel.sql import Db

# Ok before No Seller, then never-scraped first, then stalest first.
TRACKED_SQL = """
SELECT name, review FROM subreddits
WHERE review = ANY($1::text[])
ORDER BY (review = 'Ok') DESC, fact_at ASC NULLS FIRST, name
LIMIT $2
"""
KNOWN_SQL = "SELECT lower(name) FROM subreddits"

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


class TrackedSubreddit(msgspec.Struct, frozen=True):
    name: str
    review: str


class DirectoryCreator(msgspec.Struct, frozen=True):
    ig_user_id: str
    username: str
    niche: str | None


async def tracked_subreddits(db: Db, reviews: list[str], limit: int) -> list[TrackedSubreddit]:
    """Subreddits reviewed as one of ``reviews``: 'Ok' first, then never scraped, then stalest."""
    return [TrackedSubreddit(r["name"], r["review"]) for r in await db.fetch(TRACKED_SQL, reviews, limit)]


async def known_subreddit_names(db: Db) -> set[str]:
    """Lower-cased names of every subreddit stored (any review)."""
    return {r[0] for r in await db.fetch(KNOWN_SQL)}


def _creators(rows: list[asyncpg.Record]) -> list[DirectoryCreator]:
    return [DirectoryCreator(r["ig_user_id"], r["username"], r["niche"]) for r in rows]


async def approved_creators(db: Db, limit: int) -> list[DirectoryCreator]:
    """Creators people approved, with a username; never scraped first, then stalest."""
    return _creators(await db.fetch(_APPROVED, limit))


async def related_pending_creators(db: Db, limit: int) -> list[DirectoryCreator]:
    """Approved, scraped creators whose related creators were not processed yet, newest first."""
    return _creators(await db.fetch(_RELATED_PENDING, limit))


async def known_usernames(db: Db, usernames: list[str]) -> set[str]:
    """The subset (lower case) of ``usernames`` already stored."""
    if not usernames:
        return set()
    return {r["u"] for r in await db.fetch(_KNOWN_USERNAMES, [u.lower() for u in usernames])}


async def known_creator_ids(db: Db, ig_user_ids: list[str]) -> set[str]:
    """The subset of ``ig_user_ids`` already stored."""
    if not ig_user_ids:
        return set()
    return {r["ig_user_id"] for r in await db.fetch(_KNOWN_IDS, ig_user_ids)}
