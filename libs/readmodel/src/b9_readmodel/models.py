"""Models (personas): the list, one model, its linked Reddit accounts, subreddit recommendations.

Table ``models`` (ids chosen by the publisher of ``model.created``) with ``reddit_users.model_id``;
recommendations are 'Ok' ``subreddits`` sharing a tag.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel import subreddits
from b9_readmodel.sql import Db, ListQuery, Where

# sort -> (column, its natural direction); ``order`` reverses it (a second click on a header)
REC_SORTS = {
    "score": ("subreddit_score", "desc"),
    "avg_upvotes": ("avg_upvotes_per_post", "desc"),
    "min_karma": ("min_post_karma", "asc"),
    "engagement": ("engagement", "desc"),
    "subscribers": ("subscribers", "desc"),
}
SELECT_MODEL = (
    "SELECT m.id, m.name, m.description, m.assigned_tags, m.status, m.created_at, m.updated_at, "
    "(SELECT count(*) FROM reddit_users u WHERE u.model_id = m.id) AS accounts FROM models m"
)


async def models(db: Db) -> list[asyncpg.Record]:
    """Every model by name, with its number of linked accounts."""
    return await db.fetch(SELECT_MODEL + " ORDER BY m.name")


async def model(db: Db, id_: int) -> asyncpg.Record | None:
    return await db.fetchrow(SELECT_MODEL + " WHERE m.id = $1", id_)


async def model_brief(db: Db, id_: int) -> asyncpg.Record | None:
    """id, name, status and assigned_tags of one model."""
    return await db.fetchrow("SELECT id, name, status, assigned_tags FROM models WHERE id = $1", id_)


async def exists(db: Db, id_: int) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM models WHERE id = $1", id_))


async def named(db: Db, name: str, but: int | None = None) -> int | None:
    """The id of a model called ``name`` (any case) other than ``but``, or None."""
    return await db.fetchval(
        "SELECT id FROM models WHERE lower(name) = lower($1) AND id IS DISTINCT FROM $2", name, but
    )


async def accounts(db: Db, id_: int) -> list[asyncpg.Record]:
    """The Reddit accounts linked to the model, by username."""
    return await db.fetch(
        "SELECT username, total_karma, account_age_days, our_creator, verified, icon_img, fact_at AS last_scraped_at "
        "FROM reddit_users WHERE model_id = $1 ORDER BY username",
        id_,
    )


def recommendation_list(tags: list[str], sfw: bool | None, sort: str, order: str | None) -> ListQuery:
    """'Ok' subreddits sharing a tag (``subreddits.LIST_COLS``) in ``REC_SORTS[sort]``; ``order``
    ('asc' / 'desc') overrides the sort's natural direction."""
    w = Where()
    w.add("review = 'Ok'")
    w.add("tags && {}::text[]", tags)
    if sfw is not None:
        w.add("over18 = {}", not sfw)
    col, natural = REC_SORTS[sort]
    direction = (order or natural).upper()
    nulls = "FIRST" if direction == "ASC" and col == "min_post_karma" else "LAST"
    return ListQuery(subreddits.LIST_COLS, "subreddits", w, f"{col} {direction} NULLS {nulls}, name")


async def recommendation_counts(db: Db, query: ListQuery) -> asyncpg.Record:
    """(``sfw``, ``verification_required``): counts over all of ``query``'s subreddits (run it
    before paging, which adds the page's parameters to the query's WHERE)."""
    w = query.where
    row = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE NOT over18) AS sfw, count(*) FILTER (WHERE verification_required) "
        f"AS verification_required FROM subreddits{w.sql()}", *w.params)
    assert row is not None  # an aggregate has one row
    return row
