"""Posts: viral posts (top N per Ok subreddit over a time window) with filters, and their stats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_readmodel import posts as rm
from b9_readmodel import viral as vm
from b9_readmodel import viral_snapshot as vs
from fastapi import APIRouter, Depends, Query
from msgspec import Meta

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, page, page_bytes
from b9_gateway.openapi import doc
from b9_gateway.query import QueryRoute
from b9_gateway.schemas import MAX_PER_PAGE, After
from b9_gateway.sql import listing

router = APIRouter(route_class=QueryRoute, prefix="/posts", tags=["posts"])


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
    as_of: datetime | None  # the snapshot's time (persistence refreshes it); None: computed now


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


# The page's rows come from the snapshot persistence refreshes (its time) or were computed now (null).
AS_OF = {"type": ["string", "null"], "format": "date-time",
         "description": "When the viral posts snapshot these rows come from was taken; null: computed now"}


@router.get("/viral", responses=doc(ViralPost, paged=True, page_extra={"as_of": AS_OF}),
            summary="Top posts per Ok subreddit in a window")
async def viral(deps: Deps, query: ViralQuery) -> JSON:
    page_no, per_page = query.page, query.per_page
    async with deps.pool.acquire() as conn:
        v = vm.Viral(query.hours, query.per_subreddit, query.sfw, query.category, query.subreddit, query.q)
        found, total, as_of = await vs.viral_page(conn, v, query.sort, page_no, per_page)
    items = [{k: v for k, v in dict(r).items() if k != "total"} for r in found]
    # as_of: the time the snapshot these rows come from was taken (None: computed now)
    return JSON(page(items, total, page_no, per_page, as_of=as_of))


@router.get("/viral/stats", responses=doc(ViralStats), summary="Totals, best subreddits and best hour (UTC)")
async def viral_stats(
    hours: Hours = 72,
    per_subreddit: PerSub = 3,
    sfw: bool | None = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    deps: Deps = Depends(get_deps),
) -> JSON:
    async with deps.pool.acquire() as conn:
        got, as_of = await vs.viral_stats(conn, vm.Viral(hours, per_subreddit, sfw, category))
    best_hour = max(got.by_hour, key=lambda h: (h["avg_score"], -h["hour"]), default=None)
    return JSON(
        {
            "total_posts": got.total,
            "best_subreddit_by_avg_score": got.best_by_avg_score,
            "best_subreddit_by_comments": got.best_by_comments,
            "best_hour": best_hour["hour"] if best_hour else None,
            "by_hour": got.by_hour,
            "as_of": as_of,
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


class PostQuery(msgspec.Struct, frozen=True, kw_only=True):
    subreddit: Annotated[str, Meta(max_length=200)] | None = None
    author: Annotated[str, Meta(max_length=200)] | None = None
    content_type: Literal["image", "video", "gallery", "text", "link"] | None = None
    over18: bool | None = None
    min_score: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    sort: Literal["score", "recent", "comments"] = "score"
    page: Annotated[int, Meta(ge=1, le=10_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50
    after: After | None = None


@router.get("", responses=doc(PostItem, paged=True, cursor=True), summary="List posts with filters")
async def list_posts(deps: Deps, query: PostQuery) -> JSON:
    lq = rm.post_list(query.subreddit, query.author, query.content_type, query.over18, query.min_score, query.sort)
    items, total, nxt = await listing(deps.pool, lq, query.page, query.per_page, query.after)
    return JSON(page_bytes(PostItem, items, total, query.page, query.per_page, next=nxt))
