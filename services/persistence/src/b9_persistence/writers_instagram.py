"""Writers for Instagram facts: creator.scraped, creator.discovered, creator.related_processed."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
import msgspec
from b9_common.events import CreatorScraped, Envelope, IgMedia

from b9_persistence.discoveries import (
    discovery,
    recompute_discovery,
    record_discoveries,
    scrape_discovery,
)
from b9_persistence.staging import NEWER, clean, clean_list, merge_sql, newest, stage, update_set

Env: TypeAlias = Envelope[Any]
_json = msgspec.json.Encoder()

ANALYTICS_COLS = (
    "avg_reel_views", "avg_reel_likes", "avg_reel_comments", "avg_reel_saves", "avg_reel_shares",
    "avg_post_likes", "avg_post_comments", "avg_post_engagement", "content_reach_rate",
    "reel_engagement_rate", "post_engagement_rate", "engagement_rate", "viral_reels",
    "viral_posts", "viral_content_count", "viral_content_rate", "viral_min_views",
    "viral_multiplier", "comment_to_like_ratio", "save_to_like_ratio",
    "reels_vs_posts_performance", "best_content_type", "posting_frequency_per_week",
    "posting_consistency_score", "last_post_days_ago", "most_active_day", "most_active_hour",
)
CREATOR_COLS = (
    "ig_user_id", "username", "availability", "full_name", "biography", "external_url",
    "external_url_type", "bio_links", "profile_pic_url", "is_verified", "is_private",
    "is_business", "is_professional", "followers_count", "following_count", "media_count",
    "highlight_reel_count", "growth_daily_pct", "growth_weekly_pct", "previous_followers_count",
    *ANALYTICS_COLS, "analytics_fact_at", "analytics_fact_id", "api_calls", "requested", "niche",
    "fact_at", "fact_id",
)
# The analytics come only from scrapes that read the media (not a private account's): the
# newest of those wins, in any order; a later private scrape leaves them.
ANALYTICS_GROUP = (*ANALYTICS_COLS, "analytics_fact_at", "analytics_fact_id")
CREATOR_SQL = merge_sql(
    "instagram_creators", CREATOR_COLS, ("ig_user_id",),
    update=update_set(CREATOR_COLS, ("ig_user_id",), {
        # a person's niche decision (even clearing it) wins over the niche requested with the add
        "niche": "CASE WHEN t.niche_decided_at IS NOT NULL THEN t.niche "
                 "ELSE COALESCE(t.niche, EXCLUDED.niche) END",
        "requested": "t.requested OR EXCLUDED.requested",
    }, skip=ANALYTICS_GROUP),
    where=NEWER,
)
ANALYTICS_SQL = (
    "UPDATE instagram_creators t SET " + ", ".join(f"{c} = s.{c}" for c in ANALYTICS_GROUP)
    + " FROM stg_instagram_creators s WHERE t.ig_user_id = s.ig_user_id"
    " AND s.analytics_fact_at IS NOT NULL AND (t.analytics_fact_at IS NULL"
    " OR (t.analytics_fact_at, t.analytics_fact_id) < (s.analytics_fact_at, s.analytics_fact_id))"
)
# A creator first discovered without an id lives as 'pending:<lower(username)>': the first scrape
# renames that row to the real id (keeping people fields), or drops it when the id has a row.
ADOPT_SQL = """
UPDATE instagram_creators p SET ig_user_id = s.ig_user_id
FROM stg_instagram_creators s
WHERE p.ig_user_id = 'pending:' || lower(s.username)
  AND NOT EXISTS (SELECT 1 FROM instagram_creators r WHERE r.ig_user_id = s.ig_user_id)"""
DROP_PENDING_SQL = """
DELETE FROM instagram_creators p USING stg_instagram_creators s
WHERE p.ig_user_id = 'pending:' || lower(s.username)"""
HISTORY_COLS = ("ig_user_id", "fact_at", "fact_id", "username", "followers_count",
                "following_count", "media_count")
HISTORY_SQL = merge_sql("creator_follower_history", HISTORY_COLS, ("ig_user_id", "fact_at"),
                        update=update_set(HISTORY_COLS, ("ig_user_id", "fact_at")),
                        where="t.fact_id < EXCLUDED.fact_id")
MEDIA_COLS = (
    "media_pk", "ig_user_id", "kind", "media_id", "shortcode", "product_type", "post_type",
    "taken_at", "caption", "hashtags", "mentions", "play_count", "view_count", "like_count",
    "comment_count", "share_count", "save_count", "engagement_count", "engagement_rate",
    "duration", "video_url", "thumbnail_url", "image_urls", "carousel_media_count", "width",
    "height", "is_paid_partnership", "is_viral", "is_reel", "is_post", "fact_at", "fact_id",
)
# Roles are OR-ed over every fact that carried the item, whichever is newer (order-independent);
# the other columns are the newest fact's. kind is the primary role: 'reel' when a reel at all.
_ROLES = {
    "is_reel": "t.is_reel OR EXCLUDED.is_reel",
    "is_post": "t.is_post OR EXCLUDED.is_post",
    "kind": "CASE WHEN t.is_reel OR EXCLUDED.is_reel THEN 'reel' ELSE 'post' END",
}
MEDIA_SQL = merge_sql("instagram_media", MEDIA_COLS, ("media_pk",),
                      update=update_set(MEDIA_COLS, ("media_pk",), _ROLES), where=NEWER)
# An older fact still adds the roles it carries (MEDIA_SQL's WHERE kept it from updating).
MEDIA_ROLES_SQL = """
UPDATE instagram_media t SET is_reel = t.is_reel OR s.is_reel, is_post = t.is_post OR s.is_post,
    kind = CASE WHEN t.is_reel OR s.is_reel THEN 'reel' ELSE 'post' END
FROM stg_instagram_media s
WHERE t.media_pk = s.media_pk AND ((s.is_reel AND NOT t.is_reel) OR (s.is_post AND NOT t.is_post))"""
# Link the newest stored profile picture to its creator (order-independent). The media service
# names a picture ``profile:<ig_user_id>:<file>`` with the creator as ``owner``; a bare
# ``source_id = ig_user_id`` (older facts) is accepted too. $1: creator ids.
PROFILE_PIC_SQL = """
UPDATE instagram_creators c SET profile_pic_key = a.storage_key
FROM (SELECT DISTINCT ON (who) who, storage_key FROM (
        SELECT coalesce(owner, source_id) AS who, storage_key, fact_at, fact_id FROM media_assets
        WHERE kind = 'profile_picture' AND status = 'stored'
          AND (owner = ANY($1::text[]) OR source_id = ANY($1::text[]))) x
      ORDER BY who, fact_at DESC, fact_id DESC) a
WHERE c.ig_user_id = a.who AND c.profile_pic_key IS DISTINCT FROM a.storage_key"""


def _order(env: Env) -> tuple[Any, str]:
    return (env.occurred_at, env.id)


# Scrapes, discoveries and related-processed facts of one creator may sit in two batches written
# at the same time. Their statements look at each other's rows (a discovery by username finds the
# scraped row; a scrape adopts or merges the 'pending:' row of an earlier discovery), which only
# works when each sees the other's commit: the writers of instagram_creators take turns.
CREATORS_LOCK = 7_129_002


async def _creators_turn(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CREATORS_LOCK)


def _creator_row(env: Env) -> tuple[Any, ...]:
    d: CreatorScraped = env.data
    a, g = d.analytics, d.growth
    return (
        d.ig_user_id, d.username, d.availability, clean(d.full_name), clean(d.biography),
        d.external_url, d.external_url_type, _json.encode(d.bio_links).decode(),
        d.profile_pic_url, d.is_verified, d.is_private, d.is_business, d.is_professional,
        d.followers_count, d.following_count, d.media_count, d.highlight_reel_count,
        g.daily_pct, g.weekly_pct, g.previous_followers_count,
        *(getattr(a, c) for c in ANALYTICS_COLS),
        *((env.occurred_at, env.id) if _carries_analytics(env) else (None, None)),
        d.api_calls, d.requested, d.requested_niche, env.occurred_at, env.id,
    )


def _carries_analytics(env: Env) -> bool:
    return env.data.availability in ("ok", "empty")


def _with_analytics(row: tuple[Any, ...], other: Env | None) -> tuple[Any, ...]:
    """The newest scrape's row with the analytics of the newest scrape that computed them."""
    if other is None:
        return row
    theirs = _creator_row(other)
    start = CREATOR_COLS.index(ANALYTICS_GROUP[0])
    end = start + len(ANALYTICS_GROUP)
    return (*row[:start], *theirs[start:end], *row[end:])


def _both(reel: IgMedia, post: IgMedia) -> IgMedia:
    """One item fetched as a reel and as a post in the same scrape: the reel's values, each
    empty one filled from the post's copy (its images, its caption); viral in either role."""
    fields = {f: getattr(reel, f) or getattr(post, f) for f in reel.__struct_fields__}
    fields["is_viral"] = reel.is_viral or post.is_viral
    return IgMedia(**fields)


def _scraped_media(d: CreatorScraped) -> dict[str, tuple[IgMedia, bool, bool]]:
    """Each item of one scrape once, with its roles (is_reel, is_post)."""
    out: dict[str, tuple[IgMedia, bool, bool]] = {}
    for m in d.reels:
        out[m.media_pk] = (m, True, False)
    for m in d.posts:
        cur = out.get(m.media_pk)
        out[m.media_pk] = (m, False, True) if cur is None else (_both(cur[0], m), cur[1], True)
    return out


def _media_row(env: Env, ig_user_id: str, m: IgMedia, is_reel: bool,
               is_post: bool) -> tuple[Any, ...]:
    return (
        m.media_pk, ig_user_id, "reel" if is_reel else "post", m.media_id, m.shortcode, m.product_type, m.post_type,
        m.taken_at, clean(m.caption), clean_list(m.hashtags), clean_list(m.mentions),
        m.play_count, m.view_count, m.like_count, m.comment_count, m.share_count, m.save_count,
        m.engagement_count, m.engagement_rate, m.duration, m.video_url, m.thumbnail_url,
        m.image_urls, m.carousel_media_count, m.width, m.height, m.is_paid_partnership,
        m.is_viral, is_reel, is_post, env.occurred_at, env.id,
    )


async def write_creators(conn: asyncpg.Connection, envs: list[Env]) -> int:
    await _creators_turn(conn)
    latest = newest(envs, lambda e: e.data.ig_user_id, _order)
    found = await record_discoveries(conn, [r for r in map(scrape_discovery, envs) if r])
    analytics = {e.data.ig_user_id: e for e in newest(
        (e for e in envs if _carries_analytics(e)), lambda e: e.data.ig_user_id, _order)}
    await stage(conn, "instagram_creators", CREATOR_COLS,
                [_with_analytics(_creator_row(e), analytics.get(e.data.ig_user_id)) for e in latest])
    await conn.execute(ADOPT_SQL)
    await conn.execute(DROP_PENDING_SQL)
    await conn.execute(CREATOR_SQL)
    await conn.execute(ANALYTICS_SQL)
    await recompute_discovery(conn, [*found, *(e.data.username.lower() for e in latest)])
    hist = newest((e for e in envs if e.data.availability == "ok"),
                  lambda e: (e.data.ig_user_id, e.occurred_at), _order)
    if hist:
        await stage(conn, "creator_follower_history", HISTORY_COLS, [
            (e.data.ig_user_id, e.occurred_at, e.id, e.data.username, e.data.followers_count,
             e.data.following_count, e.data.media_count) for e in hist
        ])
        await conn.execute(HISTORY_SQL)
    # per item: the newest scrape's values, and the roles of every scrape in the batch
    media: dict[str, tuple[tuple[Any, str], Env, IgMedia, bool, bool]] = {}
    for env in envs:
        order = _order(env)
        for pk, (m, reel, post) in _scraped_media(env.data).items():
            cur = media.get(pk)
            if cur is None:
                media[pk] = (order, env, m, reel, post)
            elif cur[0] < order:
                media[pk] = (order, env, m, reel or cur[3], post or cur[4])
            else:
                media[pk] = (*cur[:3], reel or cur[3], post or cur[4])
    if media:
        await stage(conn, "instagram_media", MEDIA_COLS, [
            _media_row(e, e.data.ig_user_id, m, reel, post)
            for _, e, m, reel, post in (media[k] for k in sorted(media))
        ])
        await conn.execute(MEDIA_SQL)
        await conn.execute(MEDIA_ROLES_SQL)
    return len(latest) + len(hist) + len(media)


async def link_profile_pictures(conn: asyncpg.Connection, creator_ids: list[str]) -> None:
    """Run AFTER the writer's transaction has committed (handler ``AFTER_COMMIT``): a creator's
    scrape and its picture's media.stored are written by two consumers at once, and neither
    transaction sees the other's rows; of two post-commit links the later one sees both."""
    if creator_ids:
        await conn.execute(PROFILE_PIC_SQL, sorted(set(creator_ids)))


async def _after_creators(conn: asyncpg.Connection, envs: list[Env]) -> None:
    await link_profile_pictures(conn, [e.data.ig_user_id for e in envs])


# -- creator.discovered ---------------------------------------------------------------------------
# A discovery of a creator with an id (or a name already adopted) gets its row; without an id, a
# 'pending:<lower(username)>' row, unless a creator of that name is already known.
PENDING_COLS = ("ig_user_id", "username")
ADOPT_BY_NAME_SQL = """
UPDATE instagram_creators p SET ig_user_id = s.ig_user_id
FROM unnest($1::text[], $2::text[]) AS s(ig_user_id, username)
WHERE p.ig_user_id = 'pending:' || lower(s.username)
  AND NOT EXISTS (SELECT 1 FROM instagram_creators r WHERE r.ig_user_id = s.ig_user_id)"""
DISC_ROWS_SQL = merge_sql(
    "instagram_creators", PENDING_COLS, ("ig_user_id",), update=None,
    filter_=("ig_user_id NOT LIKE 'pending:%' OR NOT EXISTS (SELECT 1 FROM instagram_creators c "
             "WHERE lower(c.username) = lower(stg_instagram_creators.username) "
             "AND c.ig_user_id NOT LIKE 'pending:%')"),
)


async def write_discovered(conn: asyncpg.Connection, envs: list[Env]) -> int:
    await _creators_turn(conn)
    rows = await record_discoveries(conn, [discovery(e) for e in envs])
    named = {e.data.username.lower() for e in envs if e.data.ig_user_id}
    with_id = sorted({(e.data.ig_user_id, e.data.username) for e in envs if e.data.ig_user_id})
    if with_id:
        await conn.execute(ADOPT_BY_NAME_SQL, [r[0] for r in with_id], [r[1] for r in with_id])
    creators: dict[str, str] = {}  # a name also discovered with an id in this batch gets no pending row
    for env in envs:
        d = env.data
        if d.ig_user_id or d.username.lower() not in named:
            creators.setdefault(d.ig_user_id or f"pending:{d.username.lower()}", d.username)
    await stage(conn, "instagram_creators", PENDING_COLS, sorted(creators.items()))
    await conn.execute(DISC_ROWS_SQL)
    await recompute_discovery(conn, rows)
    return len(rows)


# -- creator.related_processed -----------------------------------------------------------
REL_COLS = ("ig_user_id", "username", "related_processed", "related_processed_at",
            "related_found", "related_new")
REL_SQL = merge_sql(
    "instagram_creators", REL_COLS, ("ig_user_id",),
    update=update_set(REL_COLS, ("ig_user_id",),
                      {"username": "COALESCE(t.username, EXCLUDED.username)"}),
    where=("(t.related_processed_at IS NULL "
           "OR t.related_processed_at < EXCLUDED.related_processed_at)"),
)


async def write_related(conn: asyncpg.Connection, envs: list[Env]) -> int:
    await _creators_turn(conn)
    rows = [(e.data.ig_user_id, e.data.username or None, True, e.occurred_at, e.data.found,
             e.data.new) for e in newest(envs, lambda e: e.data.ig_user_id, _order)]
    await stage(conn, "instagram_creators", REL_COLS, rows)
    await conn.execute(REL_SQL)
    await recompute_discovery(conn, [r[1].lower() for r in rows if r[1]])
    return len(rows)


WRITERS = {
    "creator.scraped": write_creators,
    "creator.discovered": write_discovered,
    "creator.related_processed": write_related,
}
AFTER_COMMIT = {"creator.scraped": _after_creators}
