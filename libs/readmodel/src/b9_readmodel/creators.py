"""Instagram creators: the filtered list, one creator with follower history, discovery progress,
current decided values.

Table ``instagram_creators`` (migration 0002; ``fact_at`` = last scraped; ``search`` tsvector)
and ``creator_follower_history``. The creator's media are in ``b9_readmodel.media``.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db, ListQuery, SortKey, Where, like_prefix, sort_key

SORTS = {
    "followers": "followers_count",
    "engagement": "engagement_rate",
    "discovered": "discovered_at",
    "last_scraped": "fact_at",
    "avg_reel_views": "avg_reel_views",
    "growth": "growth_weekly_pct",
    "username": "username",
}
# sort -> (the list column holding its value, the value's kind): what a cursor carries
SORT_VALUES = {
    "followers": ("followers_count", "int"),
    "engagement": ("engagement_rate", "float"),
    "discovered": ("discovered_at", "time"),
    "last_scraped": ("last_scraped_at", "time"),
    "avg_reel_views": ("avg_reel_views", "float"),
    "growth": ("growth_weekly_pct", "float"),
    "username": ("username", "text"),
}
LIST_COLS = (
    "ig_user_id, username, full_name, biography, external_url, profile_pic_url, profile_pic_key, "
    "is_verified, is_private, followers_count, following_count, media_count, engagement_rate, "
    "avg_reel_views, avg_reel_likes, avg_post_likes, growth_weekly_pct, review_status, reviewed_by, niche, tags, "
    "discovery_source, discovered_at, discovered_followers_count, fact_at AS last_scraped_at"
)
# Decisions (review, niche) -> the column they change.
DECIDED_COLS = {"review": "review_status", "niche": "niche"}


def creator_list(
    review: str | None,
    niche: str | None,
    niched: bool | None,
    min_followers: int | None,
    max_followers: int | None,
    min_engagement: float | None,
    max_engagement: float | None,
    tags: list[str] | None,
    q: str | None,
    sort: str,
    order: str,
) -> ListQuery:
    """Creators (``LIST_COLS``), filtered; followers bounds use the discovery's count until the
    first scrape; ``q`` searches the text and prefixes the username."""
    w = Where()
    if review == "pending":
        w.add("review_status IS NULL")
    elif review in ("ok", "non_related"):
        w.add("review_status = {}", review)
    if niche:
        w.add("niche = {}", niche)
    if niched is not None:
        w.add("niche IS NOT NULL" if niched else "niche IS NULL")
    for bound, op in ((min_followers, ">="), (max_followers, "<=")):
        if bound is not None:
            w.add(f"coalesce(followers_count, discovered_followers_count) {op} {{}}", bound)
    if min_engagement is not None:
        w.add("engagement_rate >= {}", min_engagement)
    if max_engagement is not None:
        w.add("engagement_rate <= {}", max_engagement)
    if tags:
        w.add("tags && {}::text[]", tags)
    if q and q.strip():
        w.add(
            "(search @@ websearch_to_tsquery('simple', {}) OR lower(username) LIKE {})",
            q,
            like_prefix(q.strip().lstrip("@")),
        )
    sk = order_key(sort, order)
    # A search's pages are read as a deferred join: the default order's index holds the searched
    # columns (0097), so the page's keys come from it alone.
    searching = bool(q and q.strip())
    return ListQuery(LIST_COLS, "instagram_creators", w, sk.order, key="ig_user_id", sort=sk, defer=searching)


def order_key(sort: str, order: str) -> SortKey:
    """``SORTS[sort]`` in ``order``, NULLS LAST, then ig_user_id (usernames too: they may be NULL)."""
    return sort_key("creators", sort, order, "ig_user_id", SORTS[sort], *SORT_VALUES[sort])


async def related_progress(db: Db) -> asyncpg.Record:
    """Approved creators, how many had their related creators processed, new ones in 24 h, last run."""
    row = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE review_status = 'ok') AS approved, "
        "count(*) FILTER (WHERE review_status = 'ok' AND related_processed) AS processed, "
        "count(*) FILTER (WHERE review_status = 'ok' AND NOT related_processed) AS unprocessed, "
        "coalesce(sum(related_new) FILTER (WHERE related_processed_at >= now() - interval '24 hours'), 0) AS new24, "
        "max(related_processed_at) AS last FROM instagram_creators"
    )
    assert row is not None  # an aggregate has one row
    return row


async def creator(db: Db, key: str) -> asyncpg.Record | None:
    """Every column of the creator whose ig_user_id is ``key`` or, else, the newest scraped one
    with that username (any case), plus ``last_scraped_at``."""
    return await db.fetchrow(
        "SELECT *, fact_at AS last_scraped_at FROM instagram_creators WHERE ig_user_id = $1 "
        "OR lower(username) = lower($1) ORDER BY ig_user_id = $1 DESC, fact_at DESC NULLS LAST LIMIT 1",
        key,
    )


async def follower_history(db: Db, ig_user_id: str) -> list[asyncpg.Record]:
    """Followers, following and media counts per scrape, oldest first."""
    return await db.fetch(
        "SELECT fact_at AS at, followers_count, following_count, media_count "
        "FROM creator_follower_history WHERE ig_user_id = $1 ORDER BY fact_at",
        ig_user_id,
    )


async def current(db: Db, ids: list[str], decision: str) -> list[asyncpg.Record]:
    """(``ig_user_id``, ``v``: the value ``decision`` -- 'review' or 'niche' -- changes) of the
    creators among ``ids`` that exist."""
    col = DECIDED_COLS[decision]
    return await db.fetch(
        f"SELECT ig_user_id, {col} AS v FROM instagram_creators WHERE ig_user_id = ANY($1::text[])", ids
    )
