"""Reddit posts: the filtered list and the viral posts (top N per 'Ok' subreddit in a window).

Tables ``reddit_posts`` (``created_utc``, ``score``, derived ``content_type`` / ``posting_hour``)
joined to ``subreddits`` by name. List orders end with ``reddit_id``: the indexes of 0093.
"""

from __future__ import annotations

import asyncpg

from b9_readmodel.sql import ListQuery, Where

VIRAL_SORTS = {
    "score": "score DESC",
    "comments": "num_comments DESC",
    "recent": "created_utc DESC",
    "ratio": "upvote_ratio DESC NULLS LAST",
}
POST_COLS = (
    "reddit_id, subreddit, author, title, url, permalink, score, num_comments, "
    "upvote_ratio::float8 AS upvote_ratio, over_18, content_type, posting_hour, created_utc"
)
LIST_SORTS = {
    "score": "score DESC, reddit_id",
    "recent": "created_utc DESC, reddit_id",
    "comments": "num_comments DESC, reddit_id",
}


def post_list(
    subreddit: str | None, author: str | None, content_type: str | None, over18: bool | None,
    min_score: int | None, sort: str,
) -> ListQuery:
    """Posts (``POST_COLS``), filtered, in ``LIST_SORTS[sort]``."""
    w = Where()
    if subreddit:
        w.add("subreddit = {}", subreddit)
    if author:
        w.add("author = {}", author)
    if content_type:
        w.add("content_type = {}", content_type)
    if over18 is not None:
        w.add("over_18 = {}", over18)
    if min_score is not None:
        w.add("score >= {}", min_score)
    return ListQuery(POST_COLS, "reddit_posts", w, LIST_SORTS[sort], key="reddit_id")


def viral_cte(
    w: Where,
    hours: int,
    per_subreddit: int,
    q: str | None,
    sfw: bool | None,
    category: str | None,
    subreddit: str | None,
) -> str:
    """``WITH ... viral AS (...)``: the ``per_subreddit`` best-scored posts of each 'Ok' subreddit
    created in the last ``hours``, with the subreddit's category, tags and over18."""
    subs = ["review = 'Ok'"]
    if sfw is not None:
        subs.append(f"over18 = {w.p(not sfw)}")
    if category:
        subs.append(f"primary_category = {w.p(category)}")
    if subreddit:
        subs.append(f"lower(name) = lower({w.p(subreddit)})")
    posts = [f"p.created_utc >= now() - make_interval(hours => {w.p(hours)})", "p.score > 0"]
    if q and q.strip():
        posts.append(f"to_tsvector('simple', p.title) @@ websearch_to_tsquery('simple', {w.p(q)})")
    return (
        "WITH ok AS (SELECT name, primary_category, tags, over18 FROM subreddits WHERE " + " AND ".join(subs) + "), "
        "ranked AS (SELECT p.reddit_id, p.subreddit, p.author, p.title, p.url, p.permalink, p.thumbnail, p.score, "
        "p.num_comments, p.upvote_ratio::float8 AS upvote_ratio, p.over_18, p.content_type, p.posting_hour, "
        "p.created_utc, ok.primary_category AS sub_primary_category, ok.tags AS sub_tags, ok.over18 AS sub_over18, "
        "row_number() OVER (PARTITION BY p.subreddit ORDER BY p.score DESC, p.reddit_id) AS rank "
        "FROM reddit_posts p JOIN ok ON ok.name = p.subreddit WHERE " + " AND ".join(posts) + "), "
        f"viral AS (SELECT * FROM ranked WHERE rank <= {w.p(per_subreddit)}) "
    )


async def viral_page(
    conn: asyncpg.Connection, hours: int, per_subreddit: int, q: str | None, sfw: bool | None, category: str | None,
    subreddit: str | None, sort: str, page: int, per_page: int,
) -> tuple[list[asyncpg.Record], int]:
    """One page of viral posts in ``VIRAL_SORTS[sort]`` (each row's ``total`` column is the count
    of them all) and that total (counted apart when the page is past the end), on one connection."""
    w = Where()
    cte = viral_cte(w, hours, per_subreddit, q, sfw, category, subreddit)
    lim, off = w.p(per_page), w.p((page - 1) * per_page)
    sql = (
        cte + "SELECT *, count(*) OVER () AS total FROM viral "
        f"ORDER BY {VIRAL_SORTS[sort]}, reddit_id LIMIT {lim} OFFSET {off}"
    )
    found = await conn.fetch(sql, *w.params)
    if found:
        return found, int(found[0]["total"])
    return found, int(await conn.fetchval(cte + "SELECT count(*) FROM viral", *w.params[:-2]))


async def viral_by_subreddit_and_hour(
    conn: asyncpg.Connection, hours: int, per_subreddit: int, sfw: bool | None, category: str | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Viral posts grouped by subreddit (posts, avg_score, comments) and by UTC posting hour
    (hour, posts, avg_score, in hour order), on one connection."""
    w = Where()
    cte = viral_cte(w, hours, per_subreddit, None, sfw, category, None)
    by_sub = await conn.fetch(
        cte + "SELECT subreddit, count(*) AS posts, avg(score)::float8 AS avg_score, "
        "sum(num_comments) AS comments FROM viral GROUP BY subreddit",
        *w.params,
    )
    by_hour = await conn.fetch(
        cte + "SELECT posting_hour AS hour, count(*) AS posts, "
        "avg(score)::float8 AS avg_score FROM viral GROUP BY 1 ORDER BY 1",
        *w.params,
    )
    return by_sub, by_hour
