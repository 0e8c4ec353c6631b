"""Instagram media (reels and posts) with their stored assets: the reels list and a creator's media.

Tables ``instagram_media`` (``kind`` = primary role, ``is_reel`` / ``is_post`` / ``is_viral``),
``instagram_creators`` (joined for username and niche) and ``media_assets``: the media service
names an item's assets ``<media_pk>:thumbnail`` / ``:video`` / ``:<n>`` (n-th image).
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db, ListQuery, Where

REEL_SORTS = {
    "views": "m.play_count DESC",
    "recent": "m.taken_at DESC NULLS LAST",
    "likes": "m.like_count DESC",
    "engagement": "m.engagement_rate DESC",
    "comments": "m.comment_count DESC",
}
MEDIA_COLS = (
    "m.media_pk, m.ig_user_id, c.username, c.niche, m.kind, m.post_type, m.shortcode, m.taken_at, m.caption, "
    "m.play_count, m.view_count, m.like_count, m.comment_count, m.engagement_rate, m.duration, m.thumbnail_url, "
    "m.video_url, "
    # the media service names an item's assets <media_pk>:thumbnail / :video / :<n> (n-th image)
    "(SELECT storage_key FROM media_assets a WHERE a.source_id IN (m.media_pk, m.media_pk || ':thumbnail', "
    " m.media_pk || ':0') AND a.status = 'stored' AND a.kind IN ('thumbnail', 'photo', 'poster') "
    " ORDER BY a.kind = 'thumbnail' DESC LIMIT 1) AS thumbnail_key, "
    "(SELECT storage_key FROM media_assets a WHERE a.source_id IN (m.media_pk, m.media_pk || ':video') "
    " AND a.status = 'stored' AND a.kind = 'video' LIMIT 1) AS video_key, m.is_reel, m.is_post, m.is_viral"
)
MEDIA_FROM = "instagram_media m LEFT JOIN instagram_creators c ON c.ig_user_id = m.ig_user_id"


def reel_list(
    creator: str | None, q: str | None, niche: str | None, min_views: int | None, review: str, sort: str
) -> ListQuery:
    """Reels (``MEDIA_COLS``), filtered; ``review``: the creators' status ('pending' = not reviewed,
    'any'); ``sort``: a key of ``REEL_SORTS``."""
    w = Where()
    w.add("m.kind = 'reel'")
    if creator:
        w.add("m.ig_user_id = {}", creator)
    if niche:
        w.add("c.niche = {}", niche)
    if review == "pending":
        w.add("c.review_status IS NULL")
    elif review != "any":
        w.add("c.review_status = {}", review)
    if min_views is not None:
        w.add("m.play_count >= {}", min_views)
    if q and q.strip():
        w.add("to_tsvector('simple', m.caption) @@ websearch_to_tsquery('simple', {})", q)
    return ListQuery(MEDIA_COLS, MEDIA_FROM, w, REEL_SORTS[sort] + ", m.media_pk")


# A creator's media in one role: an item can be both (kind is its primary role, 'reel' when a reel at all).
_ROLE = {"reel": "m.kind = 'reel'", "post": "m.is_post"}


async def creator_media(db: Db, ig_user_id: str, role: str, limit: int) -> list[asyncpg.Record]:
    """The creator's newest ``limit`` reels (``role='reel'``) or posts (``'post'``: items in the
    post role, reels among them), ``MEDIA_COLS``."""
    return await db.fetch(
        f"SELECT {MEDIA_COLS} FROM {MEDIA_FROM} WHERE m.ig_user_id = $1 AND {_ROLE[role]} "
        "ORDER BY m.taken_at DESC NULLS LAST LIMIT $2",
        ig_user_id,
        limit,
    )


async def creator_assets(db: Db, ig_user_id: str) -> list[asyncpg.Record]:
    """The newest 500 stored or failed assets the creator owns (and the profile picture)."""
    return await db.fetch(
        "SELECT source_id, kind, status, storage_key, content_type, bytes_out, width, height, duration, "
        "poster_key, failure_reason FROM media_assets WHERE owner = $1 OR source_id = $1 "
        "ORDER BY fact_at DESC LIMIT 500",
        ig_user_id,
    )
