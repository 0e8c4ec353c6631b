"""Reddit posts and users: posts.fetched and user.fetched, one upsert statement per batch each.

Every column group a fact may carry is merged in the ``ON CONFLICT`` of that one statement: a
stored row is looked up once through its primary key and written at most once per batch (one
new version, one round of index maintenance on the table's eight indexes). Users go as one
array parameter of a row type (``staging.rows_of``: no staging table, so the commit truncates none).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from b9_common.events import Envelope, PostsFetched, UserFetched

from b9_persistence.staging import (
    NEWER,
    clean,
    clean_opt,
    group_newer,
    merge_sql,
    newest,
    rows_of,
    stage,
    typed,
    update_set,
    when,
)

Env: TypeAlias = Envelope[Any]


# -- posts.fetched ----------------------------------------------------------------------------
POST_COLS = (
    "reddit_id",
    "subreddit",
    "author",
    "title",
    "selftext",
    "url",
    "permalink",
    "domain",
    "score",
    "num_comments",
    "upvote_ratio",
    "over_18",
    "spoiler",
    "stickied",
    "is_self",
    "is_video",
    "is_gallery",
    "is_crosspost",
    "link_flair_text",
    "thumbnail",
    "created_utc",
    "content_type",
    "post_length",
    "posting_hour",
    "posting_day_of_week",
    "has_thumbnail",
    "comment_to_upvote_ratio",
    "listing",
    "fact_at",
    "fact_id",
)
# Posts go through the staging table (COPY): at 51,200 posts a batch, asyncpg's COPY encodes
# rows about 2.5x cheaper than arrays for unnest, and PostgreSQL's side costs no more.
POST_SQL = merge_sql(
    "reddit_posts", POST_COLS, ("reddit_id",), update=update_set(POST_COLS, ("reddit_id",)), where=NEWER
)


async def write_posts(conn: asyncpg.Connection, envs: list[Env]) -> int:
    best: dict[str, tuple[tuple[Any, str], tuple[Any, ...]]] = {}
    for env in envs:
        d: PostsFetched = env.data
        order = (env.occurred_at, env.id)
        for p in d.posts:
            cur = best.get(p.reddit_id)
            if cur is not None and cur[0] >= order:
                continue
            best[p.reddit_id] = (
                order,
                (
                    p.reddit_id,
                    p.subreddit,
                    clean_opt(p.author),
                    clean(p.title),
                    clean(p.selftext),
                    p.url,
                    p.permalink,
                    p.domain,
                    p.score,
                    p.num_comments,
                    p.upvote_ratio,
                    p.over_18,
                    p.spoiler,
                    p.stickied,
                    p.is_self,
                    p.is_video,
                    p.is_gallery,
                    p.is_crosspost,
                    clean_opt(p.link_flair_text),
                    p.thumbnail,
                    p.created_utc,
                    p.content_type,
                    p.post_length,
                    p.posting_hour,
                    p.posting_day_of_week,
                    p.has_thumbnail,
                    p.comment_to_upvote_ratio,
                    d.listing,
                    env.occurred_at,
                    env.id,
                ),
            )
    if not best:
        return 0
    rows = [best[k][1] for k in sorted(best)]
    await stage(conn, "reddit_posts", POST_COLS, rows)
    await conn.execute(POST_SQL)
    return len(rows)


# -- user.fetched ------------------------------------------------------------------------------
USER_COLS = (
    "username",
    "availability",
    "reddit_id",
    "created_utc",
    "account_age_days",
    "link_karma",
    "comment_karma",
    "total_karma",
    "karma_per_day",
    "is_gold",
    "is_mod",
    "verified",
    "has_verified_email",
    "icon_img",
    "bio",
    "bio_url",
    "avg_post_score",
    "avg_post_comments",
    "preferred_content_type",
    "most_active_hour",
    "most_active_day",
    "posts_sampled",
    "profile_fact_at",
    "profile_fact_id",
    "requested",
    "fact_at",
    "fact_id",
)
USER_TYPES = typed(  # = row type fetched_reddit_user (migration 0099)
    USER_COLS,
    {
        "integer": ("account_age_days", "link_karma", "comment_karma", "total_karma", "posts_sampled"),
        "double precision": ("karma_per_day", "avg_post_score", "avg_post_comments"),
        "boolean": ("is_gold", "is_mod", "verified", "has_verified_email", "requested"),
        "smallint": ("most_active_hour", "most_active_day"),
        "timestamptz": ("created_utc", "profile_fact_at", "fact_at"),
    },
)
# The profile (karma, age, activity) comes only from facts that read it (availability 'ok'): a
# later "suspended" / "not found" fact changes the availability, not the last known figures.
PROFILE_COLS = USER_COLS[USER_COLS.index("reddit_id") : USER_COLS.index("requested")]
PROFILE_NEWER = group_newer("profile_fact_at", "profile_fact_id")
_MAIN = ("availability", "fact_at", "fact_id")
# requested sticks, whichever fact is newer: the staged value is "some fact of the batch was requested"
_REQUEST = "(EXCLUDED.requested AND NOT t.requested)"
USER_SQL = merge_sql(
    "reddit_users",
    USER_COLS,
    ("username",),
    update=update_set(
        USER_COLS,
        ("username",),
        special={
            **when(NEWER, _MAIN),
            **when(PROFILE_NEWER, PROFILE_COLS),
            "requested": "t.requested OR EXCLUDED.requested",
        },
    ),
    where=f"{NEWER} OR {PROFILE_NEWER} OR {_REQUEST}",
    from_=rows_of("fetched_reddit_user"),
)
_PROFILE = slice(USER_COLS.index(PROFILE_COLS[0]), USER_COLS.index(PROFILE_COLS[-1]) + 1)
_REQUESTED = USER_COLS.index("requested")


def _user_row(env: Env) -> tuple[Any, ...]:
    d: UserFetched = env.data
    return (
        d.username,
        d.availability,
        d.reddit_id,
        d.created_utc,
        d.account_age_days,
        d.link_karma,
        d.comment_karma,
        d.total_karma,
        d.karma_per_day,
        d.is_gold,
        d.is_mod,
        d.verified,
        d.has_verified_email,
        d.icon_img,
        clean(d.bio),
        d.bio_url,
        d.avg_post_score,
        d.avg_post_comments,
        d.preferred_content_type,
        d.most_active_hour,
        d.most_active_day,
        d.posts_sampled,
        *((env.occurred_at, env.id) if d.availability == "ok" else (None, None)),
        d.requested,
        env.occurred_at,
        env.id,
    )


def _order(env: Env) -> tuple[Any, str]:
    return (env.occurred_at, env.id)


def staged_users(envs: list[Env]) -> list[tuple[Any, ...]]:
    """One row per username, sorted: the newest fact's row with the profile of the newest fact
    that read it ('ok'), and ``requested`` when any fact of the batch was requested."""
    profiles = {
        e.data.username: e
        for e in newest((e for e in envs if e.data.availability == "ok"), lambda e: e.data.username, _order)
    }
    requested = {e.data.username for e in envs if e.data.requested}
    rows = []
    for env in newest(envs, lambda e: e.data.username, _order):
        row = _user_row(env)
        name = env.data.username
        other = profiles.get(name)
        if other is not None and other is not env:
            row = (*row[: _PROFILE.start], *_user_row(other)[_PROFILE], *row[_PROFILE.stop :])
        if name in requested and not row[_REQUESTED]:
            row = (*row[:_REQUESTED], True, *row[_REQUESTED + 1 :])
        rows.append(row)
    return rows


async def write_users(conn: asyncpg.Connection, envs: list[Env]) -> int:
    rows = staged_users(envs)
    await conn.execute(USER_SQL, rows)
    return len(rows)


WRITERS = {"posts.fetched": write_posts, "user.fetched": write_users}
