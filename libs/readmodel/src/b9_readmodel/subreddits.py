"""Subreddits: the filtered list, one subreddit with its history and posts, current values.

Table ``subreddits`` (migration 0002; ``fact_at`` = last scraped) with ``subreddit_snapshots``
and ``reddit_posts``. Sort indexes are ``DESC NULLS LAST`` (0091-0093): the orders below use them.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from b9_readmodel.sql import Db, ListQuery, SortKey, Where, like_prefix, sort_key

SORTS = {
    "score": "subreddit_score",
    "avg_upvotes": "avg_upvotes_per_post",
    "engagement": "engagement",
    "subscribers": "subscribers",
    "last_scraped": "fact_at",
    "name": "name",
}
# sort -> (the list column holding its value, the value's kind): what a cursor carries
SORT_VALUES = {
    "score": ("subreddit_score", "float"),
    "avg_upvotes": ("avg_upvotes_per_post", "float"),
    "engagement": ("engagement", "float"),
    "subscribers": ("subscribers", "int"),
    "last_scraped": ("last_scraped_at", "time"),
}
LIST_COLS = (
    "name, title, public_description, subscribers, active_users, over18, icon_img, availability, review, "
    "review_source, CASE WHEN review_source = 'manual' THEN reviewed_by END AS reviewed_by, tags, "
    "primary_category, verification_required, subreddit_score, avg_upvotes_per_post, "
    "engagement, min_post_karma, min_comment_karma, min_account_age_days, jsonb_array_length(rules) AS rules_count, "
    "fact_at AS last_scraped_at, discovered_at, best_posting_hour, best_posting_day"
)
# The text search: words of the name, title or description, or a name prefix. Its pages are read
# as a deferred join (``ListQuery.defer``): the score walk checks the text in the table (no index
# may hold ``search``: a long description's tsvector passes a btree tuple's 2,704 bytes, 0097),
# then only the page's rows are read in full.
SEARCH = "(search @@ websearch_to_tsquery('simple', {}) OR lower(name) LIKE {})"
# Columns a person's decision changes, readable by ``current``.
DECIDED_COLS = frozenset({"review", "tags"})


def filters(
    w: Where,
    review: str | None,
    tags: list[str] | None,
    tags_mode: str,
    tagged: bool | None,
    primary_category: str | None,
    over18: bool | None,
    verification_required: bool | None,
    min_subscribers: int | None,
    max_subscribers: int | None,
    q: str | None,
) -> None:
    if review == "unreviewed":
        w.add("review IS NULL")
    elif review and review != "any":
        w.add("review = {}", review)
    if tags:
        w.add("tags @> {}::text[]" if tags_mode == "all" else "tags && {}::text[]", tags)
    if tagged is not None:
        w.add("cardinality(tags) > 0" if tagged else "cardinality(tags) = 0")
    if primary_category:
        w.add("primary_category = {}", primary_category)
    if over18 is not None:
        w.add("over18 = {}", over18)
    if verification_required is not None:
        w.add("verification_required = {}", verification_required)
    if min_subscribers is not None:
        w.add("subscribers >= {}", min_subscribers)
    if max_subscribers is not None:
        w.add("subscribers <= {}", max_subscribers)
    if q and q.strip():
        w.add(SEARCH, q, like_prefix(q.strip()))


def order_key(sort: str, order: str) -> SortKey:
    """``SORTS[sort]`` in ``order``, NULLS LAST, then name; or name alone."""
    if sort == "name":
        return sort_key("subreddits", sort, order, "name", None)
    return sort_key("subreddits", sort, order, "name", SORTS[sort], *SORT_VALUES[sort])


def subreddit_list(w: Where, sort: str, order: str) -> ListQuery:
    """``LIST_COLS`` of the subreddits ``filters`` left in ``w``, in ``order_key(sort, order)``."""
    sk = order_key(sort, order)
    searching = any(c.startswith(SEARCH[:12]) for c in w.clauses)
    return ListQuery(LIST_COLS, "subreddits", w, sk.order, key="name", sort=sk, defer=searching)


async def subreddit(db: Db, name: str) -> asyncpg.Record | None:
    """Every column of one subreddit (name in any case) plus ``last_scraped_at``."""
    return await db.fetchrow("SELECT *, fact_at AS last_scraped_at FROM subreddits WHERE lower(name) = lower($1)", name)


async def snapshots(db: Db, name: str, limit: int) -> list[asyncpg.Record]:
    """The newest ``limit`` snapshots of the subreddit ``name`` (as stored), newest first."""
    return await db.fetch(
        "SELECT fact_at AS at, subscribers, active_users, avg_upvotes_per_post, engagement, subreddit_score "
        "FROM subreddit_snapshots WHERE subreddit = $1 ORDER BY fact_at DESC LIMIT $2",
        name,
        limit,
    )


async def recent_posts(db: Db, name: str) -> list[asyncpg.Record]:
    """The subreddit's 200 newest posts."""
    return await db.fetch(
        "SELECT reddit_id, title, author, score, num_comments, content_type, created_utc, permalink "
        "FROM reddit_posts WHERE subreddit = $1 ORDER BY created_utc DESC LIMIT 200",
        name,
    )


async def current(db: Db, lower_names: list[str], col: str) -> dict[str, tuple[str, Any]]:
    """lower(name) -> (stored name, current value of ``col``: one of ``DECIDED_COLS``) for the
    subreddits among ``lower_names`` (lower case) that exist."""
    if col not in DECIDED_COLS:
        raise ValueError(f"not a decided column of subreddits: {col}")
    found = await db.fetch(
        f"SELECT name, {col} AS v FROM subreddits WHERE lower(name) = ANY($1::text[])",
        lower_names,
    )
    return {r["name"].lower(): (r["name"], r["v"]) for r in found}
