"""Subreddits: list with filters/search/sort, detail with history, add (command), review and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import RedditScrapeRequested, SubredditReviewed, SubredditTagged
from b9_readmodel import subreddits as rm
from b9_readmodel.sql import Where
from fastapi import APIRouter, Depends, Path, Request
from msgspec import Meta

from b9_gateway import taxonomy
from b9_gateway.decide import DECIDED, actor_of, decided, new_batch
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import QueryRoute
from b9_gateway.schemas import (
    MAX_PER_PAGE,
    Accepted,
    AddSubredditBody,
    After,
    BulkReviewBody,
    BulkTagsBody,
    Review,
    ReviewBody,
    TagsBody,
    clean_sub,
)
from b9_gateway.sql import listing

router = APIRouter(route_class=QueryRoute, prefix="/subreddits", tags=["subreddits"])

NamePath = Annotated[str, Path(pattern=r"^(r/)?[A-Za-z0-9_]{1,50}$")]
ReviewFilter = Literal["unreviewed", "Ok", "No Seller", "Non Related", "User Feed", "Banned", "any"]

class SubredditItem(msgspec.Struct):
    name: str
    title: str
    public_description: str
    subscribers: int | None
    active_users: int | None
    over18: bool
    icon_img: str | None
    availability: str | None
    review: str | None
    review_source: str | None
    reviewed_by: str | None  # the person's name (None for a scraper suggestion)
    tags: list[str]
    primary_category: str | None
    verification_required: bool
    subreddit_score: float | None
    avg_upvotes_per_post: float | None
    engagement: float | None
    min_post_karma: int | None
    min_comment_karma: int | None
    min_account_age_days: int | None
    rules_count: int
    last_scraped_at: datetime | None
    discovered_at: datetime | None
    best_posting_hour: int | None  # UTC hour with the highest mean score of the posts seen
    best_posting_day: int | None  # Monday = 0


class Snapshot(msgspec.Struct):
    at: datetime
    subscribers: int | None
    active_users: int | None
    avg_upvotes_per_post: float | None
    engagement: float | None
    subreddit_score: float | None


class Rule(msgspec.Struct, kw_only=True):
    short_name: str = ""
    description: str = ""
    kind: str = "all"
    priority: int = 0
    violation_reason: str = ""


class Requirements(msgspec.Struct):
    min_post_karma: int | None
    min_comment_karma: int | None
    min_account_age_days: int | None
    best_posting_hour: int | None
    best_posting_day: int | None
    authors_sampled: int | None
    verification_required: bool


class TopPost(msgspec.Struct):
    reddit_id: str
    title: str
    author: str | None
    score: int
    num_comments: int
    content_type: str
    created_utc: datetime
    permalink: str | None


class SubredditDetail(msgspec.Struct):
    subreddit: dict[str, Any]
    rules: list[Rule]
    requirements: Requirements
    history: list[Snapshot]
    top_posts: list[TopPost]


class SubredditQuery(msgspec.Struct, frozen=True, kw_only=True):
    review: ReviewFilter | None = None
    tags: Annotated[list[str], Meta(max_length=20)] | None = None
    tags_mode: Literal["any", "all"] = "any"
    tagged: bool | None = None
    primary_category: Annotated[str, Meta(max_length=50)] | None = None
    over18: bool | None = None
    verification_required: bool | None = None
    min_subscribers: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None
    max_subscribers: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None
    q: Annotated[str, Meta(max_length=200, description="Search name, title, description")] | None = None
    sort: Literal["score", "avg_upvotes", "engagement", "subscribers", "last_scraped", "name"] = "score"
    order: Literal["desc", "asc"] = "desc"
    page: Annotated[int, Meta(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50
    after: After | None = None


class SubredditPage(msgspec.Struct, frozen=True, kw_only=True):
    history: Annotated[int, Meta(ge=0, le=1000, title="History")] = 90


@router.get("", responses=doc(SubredditItem, paged=True, cursor=True), summary="List subreddits")
async def list_subreddits(deps: Deps, q: SubredditQuery) -> JSON:
    w = Where()
    rm.filters(
        w,
        q.review,
        q.tags,
        q.tags_mode,
        q.tagged,
        q.primary_category,
        q.over18,
        q.verification_required,
        q.min_subscribers,
        q.max_subscribers,
        q.q,
    )
    query = rm.subreddit_list(w, q.sort, q.order)
    items, total, nxt = await listing(deps.pool, query, q.page, q.per_page, q.after)
    return JSON(page_bytes(SubredditItem, items, total, q.page, q.per_page, next=nxt))


@router.post(
    "",
    status_code=202,
    responses=doc(Accepted, status=202),
    summary="Analyze a subreddit now (publishes scrape.requested.reddit)",
)
async def add_subreddit(body: AddSubredditBody, deps: Deps = Depends(get_deps)) -> JSON:
    name = clean_sub(body.name)
    return await deps.accept(RedditScrapeRequested(kind="subreddit", name=name), name)


@router.get("/{name}", responses=doc(SubredditDetail), summary="One subreddit with history and requirements")
async def get_subreddit(deps: Deps, name: NamePath, q: SubredditPage) -> JSON:
    async with deps.pool.acquire() as conn:
        row = await rm.subreddit(conn, clean_sub(name))
        if row is None:
            raise not_found(f"subreddit {name}")
        snaps = await rm.snapshots(conn, row["name"], q.history)
        posts = await rm.recent_posts(conn, row["name"])
    sub = {k: v for k, v in dict(row).items() if k not in ("search", "rules")}
    top = sorted(rows(posts), key=lambda p: -p["score"])[:10]
    req = {
        k: row[k]
        for k in (
            "min_post_karma",
            "min_comment_karma",
            "min_account_age_days",
            "best_posting_hour",
            "best_posting_day",
            "authors_sampled",
            "verification_required",
        )
    }
    rules = row["rules"] if isinstance(row["rules"], list) else []
    return JSON(
        {
            "subreddit": sub,
            "rules": rules,
            "requirements": req,
            "history": list(reversed(rows(snaps))),
            "top_posts": top,
        }
    )


async def _current(deps: Deps, names: list[str], col: str) -> dict[str, tuple[str, Any]]:
    """lower(asked name) -> (stored name, current value of ``col``) for the subreddits that exist."""
    return await rm.current(deps.pool, [clean_sub(n).lower() for n in names], col)


async def _review(request: Request, deps: Deps, names: list[str], review: Review | None) -> tuple[dict[str, Any], bool]:
    cur = await _current(deps, names, "review")
    actor, batch = actor_of(request), new_batch(len(cur))
    events = [SubredditReviewed(name=real, review=review, before=before, actor=actor, batch=batch)
              for real, before in cur.values()]
    ids, stored = await deps.decider.decide(events)
    missing = [n for n in names if clean_sub(n).lower() not in cur]
    return {"updated": len(events), "missing": missing, "decisions": ids}, stored


@router.put("/{name}/review", responses=DECIDED, summary="Review one subreddit")
async def review_one(name: NamePath, body: ReviewBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    result, stored = await _review(request, deps, [name], body.review)
    if not result["updated"]:
        raise not_found(f"subreddit {name}")
    return decided(result.pop("decisions"), stored, **result)


@router.post("/review", responses=DECIDED, summary="Review many subreddits")
async def review_bulk(body: BulkReviewBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    result, stored = await _review(request, deps, body.names, body.review)
    return decided(result.pop("decisions"), stored, **result)


def _check_tags(tags: list[str]) -> None:
    bad = taxonomy.unknown_tags(tags)
    if bad:
        raise invalid("body", "tags", f"unknown tags {bad}: see GET /api/v1/categorization/tags")


Change = dict[str, tuple[list[str], list[str]]]


async def _tag(request: Request, deps: Deps, new_tags: Change) -> tuple[list[str], bool]:
    """``new_tags``: stored name -> (tags before, tags after)."""
    actor, batch = actor_of(request), new_batch(len(new_tags))
    events = []
    for name, (before, after) in new_tags.items():
        tags = taxonomy.normalize(after)
        events.append(SubredditTagged(
            name=name, tags=tags, primary_category=taxonomy.primary_category(tags),
            taxonomy_version=taxonomy.TAXONOMY_VERSION, before=list(before), actor=actor, batch=batch,
        ))
    return await deps.decider.decide(events)


@router.put("/{name}/tags", responses=DECIDED, summary="Set one subreddit's tags (manual)")
async def set_tags(name: NamePath, body: TagsBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    _check_tags(body.tags)
    cur = await _current(deps, [name], "tags")
    if not cur:
        raise not_found(f"subreddit {name}")
    real, before = next(iter(cur.values()))
    ids, stored = await _tag(request, deps, {real: (before, body.tags)})
    return decided(ids, stored, updated=1, missing=[])


@router.post("/tags", responses=DECIDED,
             summary="Add or remove tags on many subreddits (manual)")
async def bulk_tags(body: BulkTagsBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    _check_tags(body.add + body.remove)
    cur = await _current(deps, body.names, "tags")
    drop = set(body.remove)
    new = {real: (before, [t for t in [*before, *body.add] if t not in drop]) for real, before in cur.values()}
    ids, stored = await _tag(request, deps, new) if new else ([], True)
    missing = [n for n in body.names if clean_sub(n).lower() not in cur]
    return decided(ids, stored, updated=len(new), missing=missing)
