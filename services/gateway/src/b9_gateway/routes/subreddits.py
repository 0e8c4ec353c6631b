"""Subreddits: list with filters/search/sort, detail with history, add (command), review and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import RedditScrapeRequested, SubredditReviewed, SubredditTagged
from fastapi import APIRouter, Depends, Path, Query, Request
from msgspec import Meta

from b9_gateway import taxonomy
from b9_gateway.decide import DECIDED, actor_of, decided, new_batch
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import query_get
from b9_gateway.schemas import (
    MAX_PER_PAGE,
    Accepted,
    AddSubredditBody,
    BulkReviewBody,
    BulkTagsBody,
    Review,
    ReviewBody,
    TagsBody,
    clean_sub,
)
from b9_gateway.sql import Where, like_prefix, paged

router = APIRouter(prefix="/subreddits", tags=["subreddits"])

NamePath = Annotated[str, Path(pattern=r"^(r/)?[A-Za-z0-9_]{1,50}$")]
ReviewFilter = Literal["unreviewed", "Ok", "No Seller", "Non Related", "User Feed", "Banned", "any"]
SORTS = {
    "score": "subreddit_score",
    "avg_upvotes": "avg_upvotes_per_post",
    "engagement": "engagement",
    "subscribers": "subscribers",
    "last_scraped": "fact_at",
    "name": "name",
}


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


LIST_COLS = (
    "name, title, public_description, subscribers, active_users, over18, icon_img, availability, review, "
    "review_source, CASE WHEN review_source = 'manual' THEN reviewed_by END AS reviewed_by, tags, "
    "primary_category, verification_required, subreddit_score, avg_upvotes_per_post, "
    "engagement, min_post_karma, min_comment_karma, min_account_age_days, jsonb_array_length(rules) AS rules_count, "
    "fact_at AS last_scraped_at, discovered_at, best_posting_hour, best_posting_day"
)


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
        w.add(
            "(search @@ websearch_to_tsquery('simple', {}) OR lower(name) LIKE {})",
            q,
            like_prefix(q.strip()),
        )


def order_by(sort: str, order: str) -> str:
    col = SORTS[sort]
    direction = "ASC" if order == "asc" else "DESC"
    return f"{col} {direction} NULLS LAST, name" if col != "name" else f"name {direction}"


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


@query_get(router, "", SubredditQuery, responses=doc(SubredditItem, paged=True), summary="List subreddits")
async def list_subreddits(deps: Deps, q: SubredditQuery) -> JSON:
    w = Where()
    filters(
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
    items, total = await paged(
        deps.pool, LIST_COLS, "subreddits", w, order_by(q.sort, q.order), q.page, q.per_page, key="name"
    )
    return JSON(page_bytes(SubredditItem, items, total, q.page, q.per_page))


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
async def get_subreddit(
    name: NamePath,
    history: Annotated[int, Query(ge=0, le=1000)] = 90,
    deps: Deps = Depends(get_deps),
) -> JSON:
    async with deps.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT *, fact_at AS last_scraped_at FROM subreddits WHERE lower(name) = lower($1)",
            clean_sub(name),
        )
        if row is None:
            raise not_found(f"subreddit {name}")
        snaps = await conn.fetch(
            "SELECT fact_at AS at, subscribers, active_users, avg_upvotes_per_post, engagement, subreddit_score "
            "FROM subreddit_snapshots WHERE subreddit = $1 ORDER BY fact_at DESC LIMIT $2",
            row["name"],
            history,
        )
        posts = await conn.fetch(
            "SELECT reddit_id, title, author, score, num_comments, content_type, created_utc, permalink "
            "FROM reddit_posts WHERE subreddit = $1 ORDER BY created_utc DESC LIMIT 200",
            row["name"],
        )
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
    found = await deps.pool.fetch(
        f"SELECT name, {col} AS v FROM subreddits WHERE lower(name) = ANY($1::text[])",
        [clean_sub(n).lower() for n in names],
    )
    return {r["name"].lower(): (r["name"], r["v"]) for r in found}


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
