"""What the categorizer is asked about (subreddits, creators and their latest media) and the
tagging progress: ``subreddits`` tags, ``instagram_creators`` tags, ``categorizations`` history."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from b9_readmodel.sql import Db

_SUBREDDITS = "SELECT name, title, public_description, description, rules, over18 FROM subreddits WHERE "
_CREATOR_COLS = "ig_user_id, username, full_name, biography, profile_pic_url"


async def subreddits_named(db: Db, lower_names: list[str], limit: int) -> list[asyncpg.Record]:
    """Name, title, descriptions, rules and over18 of the subreddits among ``lower_names``."""
    return await db.fetch(_SUBREDDITS + "lower(name) = ANY($1::text[]) LIMIT $2", lower_names, limit)


async def subreddits_to_tag(db: Db, force: bool, limit: int) -> list[asyncpg.Record]:
    """As ``subreddits_named``: 'Ok' subreddits without tags (all of them with ``force``) and not
    tagged by a person, best scored first."""
    return await db.fetch(
        _SUBREDDITS + "review = 'Ok' AND (cardinality(tags) = 0 OR $1) AND coalesce(tags_source, 'auto') <> 'manual' "
        "ORDER BY subreddit_score DESC NULLS LAST, name LIMIT $2",
        force,
        limit,
    )


async def creators_by_id(db: Db, ids: list[str], limit: int) -> list[asyncpg.Record]:
    """ig_user_id, username, full_name, biography and profile_pic_url of the creators among ``ids``."""
    return await db.fetch(
        f"SELECT {_CREATOR_COLS} FROM instagram_creators WHERE ig_user_id = ANY($1::text[]) LIMIT $2", ids, limit
    )


async def creators_to_tag(db: Db, force: bool, limit: int) -> list[asyncpg.Record]:
    """As ``creators_by_id``: approved, scraped creators without tags (all with ``force``), most
    followed first."""
    return await db.fetch(
        f"SELECT {_CREATOR_COLS} FROM instagram_creators WHERE review_status = 'ok' AND (cardinality(tags) = 0 OR $1) "
        "AND ig_user_id NOT LIKE 'pending:%' ORDER BY followers_count DESC NULLS LAST LIMIT $2",
        force,
        limit,
    )


async def recent_media(db: Db, ids: list[str], captions: int, thumbnails: int) -> list[asyncpg.Record]:
    """Per creator, in one query, newest first: (ig_user_id, caption, hashtags, thumbnail_url,
    ``n`` = rank among its media, ``nt`` = rank among those with or without a thumbnail) of the
    latest ``captions`` items and of the latest ``thumbnails`` items with a thumbnail."""
    return await db.fetch(
        "SELECT ig_user_id, caption, hashtags, thumbnail_url, n, nt FROM ("
        " SELECT ig_user_id, caption, hashtags, thumbnail_url, taken_at, media_pk,"
        "  row_number() OVER (PARTITION BY ig_user_id ORDER BY taken_at DESC NULLS LAST, media_pk) AS n,"
        "  row_number() OVER (PARTITION BY ig_user_id, thumbnail_url IS NULL"
        "   ORDER BY taken_at DESC NULLS LAST, media_pk) AS nt"
        " FROM instagram_media WHERE ig_user_id = ANY($1::text[])) m "
        "WHERE n <= $2 OR (thumbnail_url IS NOT NULL AND nt <= $3) "
        "ORDER BY ig_user_id, taken_at DESC NULLS LAST, media_pk",
        ids,
        captions,
        thumbnails,
    )


@dataclass(frozen=True)
class TaggingStats:
    ok: asyncpg.Record  # ok, tagged, manual: counts of 'Ok' subreddits
    top_tags: list[asyncpg.Record]  # tag, count: the 30 most used on 'Ok' subreddits
    by_category: list[asyncpg.Record]  # c, n: 'Ok' subreddits per primary category
    history: asyncpg.Record  # n, cost, last: every categorization stored


async def tagging_stats(conn: asyncpg.Connection) -> TaggingStats:
    ok = await conn.fetchrow(
        "SELECT count(*) AS ok, count(*) FILTER (WHERE cardinality(tags) > 0) AS tagged, "
        "count(*) FILTER (WHERE tags_source = 'manual') AS manual FROM subreddits WHERE review = 'Ok'"
    )
    top = await conn.fetch(
        "SELECT t AS tag, count(*) AS count FROM subreddits, unnest(tags) t "
        "WHERE review = 'Ok' GROUP BY t ORDER BY count(*) DESC, t LIMIT 30"
    )
    cats = await conn.fetch(
        "SELECT primary_category AS c, count(*) AS n FROM subreddits WHERE review = 'Ok' "
        "AND primary_category IS NOT NULL GROUP BY 1"
    )
    hist = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(cost_usd), 0)::float8 AS cost, "
        "max(fact_at) AS last FROM categorizations"
    )
    assert ok is not None and hist is not None  # aggregates have one row
    return TaggingStats(ok, top, cats, hist)
