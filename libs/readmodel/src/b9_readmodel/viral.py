"""Viral posts: the ``per_subreddit`` best-scored posts (score > 0) of each 'Ok' subreddit created
in the last ``hours``, a page of them in one order, and their totals by subreddit and posting hour.

Shape (migration 0094): one LATERAL per 'Ok' subreddit (``subreddits_ok``, index-only) over that
subreddit's posts in the window (``reddit_posts_subreddit_window``: subreddit, created_utc DESC,
with the sort and stats columns included, index-only), top ``per_subreddit`` by score. The work
grows with the 'Ok' subreddits and their posts in the window, read from two covering indexes,
instead of ranking every post of the window read from the table (at 3x a parallel scan of the
whole table, 2.2 s of CPU for a page and twice 1.8 s for the stats). A page then reads only its
own rows' other columns and their subreddits' category, tags and over18.

At 10x that is still 156 k probes, ~5 s per query: the gateway reads the dashboard's windows
from the snapshot persistence keeps (``b9_readmodel.viral_snapshot``, migration 0098) and runs
these live queries only for what it does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from b9_readmodel.sql import Where

VIRAL_SORTS = {
    "score": "score DESC",
    "comments": "num_comments DESC",
    "recent": "created_utc DESC",
    "ratio": "upvote_ratio DESC NULLS LAST",
}
# Their plans are cheap to run but estimated dear (one probe per 'Ok' subreddit): PostgreSQL's JIT
# would compile them first, 40-450 ms of CPU at 3x for nothing.
NO_JIT = "SET LOCAL jit = off"
# The row of a viral post, in the API's column order (``k`` = the page's keys, ``p`` = the post,
# ``s`` = its subreddit).
VIRAL_COLS = (
    "p.reddit_id, p.subreddit, p.author, p.title, p.url, p.permalink, p.thumbnail, p.score, p.num_comments, "
    "p.upvote_ratio::float8 AS upvote_ratio, p.over_18, p.content_type, p.posting_hour, p.created_utc, "
    "s.primary_category AS sub_primary_category, s.tags AS sub_tags, s.over18 AS sub_over18, k.rank"
)


@dataclass(frozen=True)
class Viral:
    """Which posts are viral: the ``per_subreddit`` best of the last ``hours``, of the 'Ok'
    subreddits (over18 = not ``sfw``, of ``category``, named ``subreddit``: each when given),
    titles matching ``q``."""

    hours: int
    per_subreddit: int
    sfw: bool | None = None
    category: str | None = None
    subreddit: str | None = None
    q: str | None = None


def _top(w: Where, v: Viral) -> tuple[str, str]:
    """(the top ``per_subreddit`` posts of subreddit ``s`` as a SELECT for a LATERAL: the key, the
    columns the sorts and stats use and ``rank`` by score then reddit_id; the condition on ``s``)."""
    subs = ["s.review = 'Ok'"]
    if v.sfw is not None:
        subs.append(f"s.over18 = {w.p(not v.sfw)}")
    if v.category:
        subs.append(f"s.primary_category = {w.p(v.category)}")
    if v.subreddit:
        subs.append(f"lower(s.name) = lower({w.p(v.subreddit)})")
    posts = ["p.subreddit = s.name", f"p.created_utc >= now() - make_interval(hours => {w.p(v.hours)})", "p.score > 0"]
    if v.q and v.q.strip():
        posts.append(f"to_tsvector('simple', p.title) @@ websearch_to_tsquery('simple', {w.p(v.q)})")
    top = (
        "SELECT p.reddit_id, p.subreddit, p.score, p.num_comments, p.created_utc, p.upvote_ratio, p.posting_hour, "
        "row_number() OVER (ORDER BY p.score DESC, p.reddit_id) AS rank FROM reddit_posts p "
        "WHERE " + " AND ".join(posts) + f" ORDER BY p.score DESC, p.reddit_id LIMIT {w.p(v.per_subreddit)}"
    )
    return top, " AND ".join(subs)


def viral_cte(w: Where, v: Viral) -> str:
    """``WITH viral AS (...)``: per viral post its key, the columns the sorts and stats use
    (``reddit_id, subreddit, score, num_comments, created_utc, upvote_ratio, posting_hour``) and its
    ``rank`` in its subreddit (score, then reddit_id)."""
    top, subs = _top(w, v)
    return f"WITH viral AS (SELECT v.* FROM subreddits s CROSS JOIN LATERAL ({top}) v WHERE {subs}) "


async def viral_page(
    conn: asyncpg.Connection, v: Viral, sort: str, page: int, per_page: int
) -> tuple[list[asyncpg.Record], int]:
    """One page of viral posts in ``VIRAL_SORTS[sort]`` then reddit_id (each row's ``total``
    column is the count of them all) and that total (counted apart when the page is past the end)."""
    w = Where()
    cte = viral_cte(w, v)
    lim, off = w.p(per_page), w.p((page - 1) * per_page)
    order = f"{VIRAL_SORTS[sort]}, reddit_id"
    sql = (
        cte + f", k AS (SELECT *, count(*) OVER () AS total FROM viral ORDER BY {order} LIMIT {lim} OFFSET {off}) "
        f"SELECT {VIRAL_COLS}, k.total FROM k JOIN reddit_posts p USING (reddit_id) "
        f"JOIN subreddits s ON s.name = p.subreddit ORDER BY {order}"
    )
    async with conn.transaction():
        await conn.execute(NO_JIT)
        found = await conn.fetch(sql, *w.params)
        if found:
            return found, int(found[0]["total"])
        return found, int(await conn.fetchval(cte + "SELECT count(*) FROM viral", *w.params[:-2]))


@dataclass(frozen=True)
class ViralStats:
    """Of the viral posts: how many, the subreddit with the best mean score and the one with the
    most comments (each {subreddit, posts, avg_score, comments}; ties to the greater name by code
    point), and per UTC posting hour {hour, posts, avg_score}, in hour order."""

    total: int
    best_by_avg_score: dict[str, Any] | None
    best_by_comments: dict[str, Any] | None
    by_hour: list[dict[str, Any]]


async def viral_stats(conn: asyncpg.Connection, v: Viral) -> ViralStats:
    """``ViralStats`` in one query: each subreddit's viral posts are summed up in its own LATERAL
    (no hash of every subreddit's), their hours and scores kept for the hours' means."""
    w = Where()
    top, subs = _top(w, v)
    async with conn.transaction():
        await conn.execute(NO_JIT)
        found = await conn.fetch(
            "WITH by_sub AS (SELECT s.name AS subreddit, v.* FROM subreddits s CROSS JOIN LATERAL ("
            "SELECT count(*) AS posts, avg(score)::float8 AS avg_score, sum(num_comments) AS comments, "
            f"array_agg(posting_hour) AS hours, array_agg(score) AS scores FROM ({top}) t) v "
            f"WHERE {subs} AND v.posts > 0) "
            + best_sql("by_sub")
            + "UNION ALL SELECT 'hour', NULL, count(*), avg(u.score)::float8, NULL, u.hour "
            "FROM by_sub, unnest(hours, scores) AS u(hour, score) GROUP BY u.hour",
            *w.params,
        )
    return stats_of(found)


def best_sql(rows: str, posts: str = "posts") -> str:
    """The stats' two best-subreddit rows (kind 'avg', 'comments') of ``rows`` (a relation, with
    its WHERE if any, of subreddit, ``posts``, avg_score, comments), to go before the hours'
    ``UNION ALL SELECT 'hour', ...``."""
    cols = f"subreddit, {posts}, avg_score, comments"
    return (
        f"(SELECT 'avg' AS kind, {cols}, NULL::smallint AS hour FROM {rows} "
        'ORDER BY avg_score DESC, subreddit COLLATE "C" DESC LIMIT 1) '
        f"UNION ALL (SELECT 'comments', {cols}, NULL FROM {rows} "
        'ORDER BY comments DESC, subreddit COLLATE "C" DESC LIMIT 1) '
    )


def stats_of(found: list[asyncpg.Record]) -> ViralStats:
    """``ViralStats`` from the rows of a stats query: kind 'avg' and 'comments' (the best
    subreddits), 'hour' (one per posting hour)."""
    best = {r["kind"]: {k: r[k] for k in ("subreddit", "posts", "avg_score", "comments")} for r in found}
    by_hour = sorted(
        ({"hour": r["hour"], "posts": r["posts"], "avg_score": r["avg_score"]} for r in found if r["kind"] == "hour"),
        key=lambda h: h["hour"],
    )
    return ViralStats(sum(h["posts"] for h in by_hour), best.get("avg"), best.get("comments"), by_hour)
