"""Reddit users: the filtered list, one user with posts and model, current decided values.

Table ``reddit_users`` (``fact_at`` = last scraped; people's ``our_creator`` and ``model_id``)
with ``reddit_posts`` by author and ``models`` by id.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import Db, ListQuery, SortKey, Where, like_prefix, sort_key

SORTS = {
    "karma": "total_karma",
    "karma_per_day": "karma_per_day",
    "avg_post_score": "avg_post_score",
    "account_age": "account_age_days",
    "last_scraped": "fact_at",
    "username": "username",
}
# sort -> (the list column holding its value, the value's kind): what a cursor carries
SORT_VALUES = {
    "karma": ("total_karma", "int"),
    "karma_per_day": ("karma_per_day", "float"),
    "avg_post_score": ("avg_post_score", "float"),
    "account_age": ("account_age_days", "int"),
    "last_scraped": ("last_scraped_at", "time"),
}
LIST_COLS = (
    "username, availability, account_age_days, link_karma, comment_karma, total_karma, karma_per_day, "
    "avg_post_score, avg_post_comments, preferred_content_type, most_active_hour, verified, icon_img, "
    "our_creator, model_id, fact_at AS last_scraped_at"
)


def user_list(
    username_prefix: str | None, our_creator: bool | None, model_id: int | None, min_karma: int | None,
    max_karma: int | None, active_days: int | None, sort: str, order: str,
) -> ListQuery:
    """Users (``LIST_COLS``), filtered; ``username_prefix`` matched case-insensitively;
    ``active_days``: scraped in the last N days."""
    w = Where()
    if username_prefix is not None:
        w.add("lower(username) LIKE {}", like_prefix(username_prefix))
    if our_creator is not None:
        w.add("our_creator = {}", our_creator)
    if model_id is not None:
        w.add("model_id = {}", model_id)
    if min_karma is not None:
        w.add("total_karma >= {}", min_karma)
    if max_karma is not None:
        w.add("total_karma <= {}", max_karma)
    if active_days is not None:
        w.add("fact_at >= now() - make_interval(days => {})", active_days)
    sk = order_key(sort, order)
    # A name prefix is one range of reddit_users_lower_name_karma, which holds the default sort
    # key: its pages are read as a deferred join (the matches sorted from the index, not the table).
    defer = username_prefix is not None
    return ListQuery(LIST_COLS, "reddit_users", w, sk.order, key="username", sort=sk, defer=defer)


def order_key(sort: str, order: str) -> SortKey:
    """``SORTS[sort]`` in ``order``, NULLS LAST, then username; or username alone."""
    if sort == "username":
        return sort_key("users", sort, order, "username", None)
    return sort_key("users", sort, order, "username", SORTS[sort], *SORT_VALUES[sort])


async def user(db: Db, username: str) -> asyncpg.Record | None:
    """Every column of one user (name in any case) plus ``last_scraped_at``."""
    return await db.fetchrow(
        "SELECT *, fact_at AS last_scraped_at FROM reddit_users WHERE lower(username) = lower($1)", username
    )


async def user_posts(db: Db, username: str, limit: int) -> list[asyncpg.Record]:
    """The user's ``limit`` newest posts (``username`` as stored)."""
    return await db.fetch(
        "SELECT reddit_id, subreddit, title, url, permalink, score, num_comments, content_type, over_18, "
        "created_utc FROM reddit_posts WHERE author = $1 ORDER BY created_utc DESC LIMIT $2",
        username,
        limit,
    )


async def marked_ours(db: Db, username: str) -> asyncpg.Record | None:
    """(``username`` as stored, ``our_creator``) of one user, name in any case."""
    return await db.fetchrow(
        "SELECT username, our_creator FROM reddit_users WHERE lower(username) = lower($1)", username
    )


async def current(db: Db, lower_names: list[str]) -> list[asyncpg.Record]:
    """(``username``, ``our_creator``, ``model_id``) of the users among ``lower_names`` (lower case)."""
    return await db.fetch(
        "SELECT username, our_creator, model_id FROM reddit_users WHERE lower(username) = ANY($1::text[])",
        lower_names,
    )
