"""Posts: viral posts (top N per Ok subreddit over a time window) with filters, and their stats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Query
from msgspec import Meta

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, page, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import query_get
from b9_gateway.schemas import MAX_PER_PAGE
from b9_gateway.sql import Where, paged

router = APIRouter(prefix="/posts", tags=["posts"])


class ViralPost(msgspec.Struct):
    reddit_id: str
    subreddit: str
    author: str | None
    title: str
    url: str | None
    permalink: str | None
    thumbnail: str | None
    score: int
    num_comments: int
    upvote_ratio: float | None
    over_18: bool
    content_type: str
    posting_hour: int
    created_utc: datetime
    sub_primary_category: str | None
    sub_tags: list[str]
    sub_over18: bool
    rank: int


class HourStat(msgspec.Struct):
    hour: int
    posts: int
    avg_score: float


class ViralStats(msgspec.Struct):
    total_posts: int
    best_subreddit_by_avg_score: dict[str, Any] | None
    best_subreddit_by_comments: dict[str, Any] | None
    best_hour: int | None
    by_hour: list[HourStat]


SORTS = {
    "score": "score DESC",
    "comments": "num_comments DESC",
    "recent": "created_utc DESC",
    "ratio": "upvote_ratio DESC NULLS LAST",
}


def viral_cte(
    w: Where,
    hours: int,
    per_subreddit: int,
    q: str | None,
    sfw: bool | None,
    category: str | None,
    subreddit: str | None,
) -> str:
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


Hours = Annotated[int, Query(ge=1, le=24 * 90, description="Time window in hours")]
PerSub = Annotated[int, Query(ge=1, le=50)]
Text = Annotated[str | None, Query(max_length=200)]


class ViralQuery(msgspec.Struct, frozen=True, kw_only=True):
    hours: Annotated[int, Meta(ge=1, le=24 * 90, description="Time window in hours")] = 72
    per_subreddit: Annotated[int, Meta(ge=1, le=50)] = 3
    q: Annotated[str, Meta(max_length=200)] | None = None
    sfw: bool | None = None
    category: Annotated[str, Meta(max_length=50)] | None = None
    subreddit: Annotated[str, Meta(max_length=200)] | None = None
    sort: Literal["score", "comments", "recent", "ratio"] = "score"
    page: Annotated[int, Meta(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50


@query_get(
    router, "/viral", ViralQuery, responses=doc(ViralPost, paged=True), summary="Top posts per Ok subreddit in a window"
)
async def viral(deps: Deps, query: ViralQuery) -> JSON:
    page_no, per_page = query.page, query.per_page
    w = Where()
    cte = viral_cte(w, query.hours, query.per_subreddit, query.q, query.sfw, query.category, query.subreddit)
    lim, off = w.p(per_page), w.p((page_no - 1) * per_page)
    sql = (
        cte + "SELECT *, count(*) OVER () AS total FROM viral "
        f"ORDER BY {SORTS[query.sort]}, reddit_id LIMIT {lim} OFFSET {off}"
    )
    async with deps.pool.acquire() as conn:
        found = await conn.fetch(sql, *w.params)
        if found:
            total = int(found[0]["total"])
        else:
            total = int(await conn.fetchval(cte + "SELECT count(*) FROM viral", *w.params[:-2]))
    items = [{k: v for k, v in dict(r).items() if k != "total"} for r in found]
    return JSON(page(items, total, page_no, per_page))


@router.get("/viral/stats", responses=doc(ViralStats), summary="Totals, best subreddits and best hour (UTC)")
async def viral_stats(
    hours: Hours = 72,
    per_subreddit: PerSub = 3,
    sfw: bool | None = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    deps: Deps = Depends(get_deps),
) -> JSON:
    w = Where()
    cte = viral_cte(w, hours, per_subreddit, None, sfw, category, None)
    async with deps.pool.acquire() as conn:
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
    subs = rows(by_sub)
    best_avg = max(subs, key=lambda s: (s["avg_score"], s["subreddit"]), default=None)
    best_com = max(subs, key=lambda s: (s["comments"], s["subreddit"]), default=None)
    hours_ = rows(by_hour)
    best_hour = max(hours_, key=lambda h: (h["avg_score"], -h["hour"]), default=None)
    return JSON(
        {
            "total_posts": sum(s["posts"] for s in subs),
            "best_subreddit_by_avg_score": best_avg,
            "best_subreddit_by_comments": best_com,
            "best_hour": best_hour["hour"] if best_hour else None,
            "by_hour": hours_,
        }
    )


class PostItem(msgspec.Struct):
    reddit_id: str
    subreddit: str
    author: str | None
    title: str
    url: str | None
    permalink: str | None
    score: int
    num_comments: int
    upvote_ratio: float | None
    over_18: bool
    content_type: str
    posting_hour: int
    created_utc: datetime


POST_COLS = (
    "reddit_id, subreddit, author, title, url, permalink, score, num_comments, "
    "upvote_ratio::float8 AS upvote_ratio, over_18, content_type, posting_hour, created_utc"
)
LIST_SORTS = {
    "score": "score DESC, reddit_id",
    "recent": "created_utc DESC, reddit_id",
    "comments": "num_comments DESC, reddit_id",
}


class PostQuery(msgspec.Struct, frozen=True, kw_only=True):
    subreddit: Annotated[str, Meta(max_length=200)] | None = None
    author: Annotated[str, Meta(max_length=200)] | None = None
    content_type: Literal["image", "video", "gallery", "text", "link"] | None = None
    over18: bool | None = None
    min_score: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    sort: Literal["score", "recent", "comments"] = "score"
    page: Annotated[int, Meta(ge=1, le=10_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50


@query_get(router, "", PostQuery, responses=doc(PostItem, paged=True), summary="List posts with filters")
async def list_posts(deps: Deps, query: PostQuery) -> JSON:
    subreddit, author, content_type, over18, min_score = (
        query.subreddit,
        query.author,
        query.content_type,
        query.over18,
        query.min_score,
    )
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
    items, total = await paged(
        deps.pool, POST_COLS, "reddit_posts", w, LIST_SORTS[query.sort], query.page, query.per_page, key="reddit_id"
    )
    return JSON(page_bytes(PostItem, items, total, query.page, query.per_page))
