"""Subreddits: list with filters/search/sort, detail with history, add (command), review and tags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import RedditScrapeRequested
from fastapi import APIRouter, Depends, Path, Query
from msgspec import Meta

from b9_gateway import taxonomy
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import query_get
from b9_gateway.schemas import (
    MAX_PER_PAGE,
    Accepted,
    AddSubredditBody,
    BulkResult,
    BulkReviewBody,
    BulkTagsBody,
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


LIST_COLS = (
    "name, title, public_description, subscribers, active_users, over18, icon_img, availability, review, "
    "review_source, tags, primary_category, verification_required, subreddit_score, avg_upvotes_per_post, "
    "engagement, min_post_karma, min_comment_karma, min_account_age_days, jsonb_array_length(rules) AS rules_count, "
    "fact_at AS last_scraped_at, discovered_at"
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


async def _set_review(deps: Deps, names: list[str], review: str | None, by: str) -> tuple[int, list[str]]:
    lowered = [clean_sub(n).lower() for n in names]
    found = await deps.pool.fetch(
        "UPDATE subreddits SET review = $2, review_source = CASE WHEN $2::text IS NULL THEN NULL ELSE 'manual' END, "
        "reviewed_at = now(), reviewed_by = $3 WHERE lower(name) = ANY($1::text[]) RETURNING lower(name) AS n",
        lowered,
        review,
        by,
    )
    hit = {r["n"] for r in found}
    return len(found), [n for n in names if clean_sub(n).lower() not in hit]


@router.put("/{name}/review", responses=doc(BulkResult), summary="Review one subreddit")
async def review_one(name: NamePath, body: ReviewBody, deps: Deps = Depends(get_deps)) -> JSON:
    updated, missing = await _set_review(deps, [name], body.review, body.by)
    if not updated:
        raise not_found(f"subreddit {name}")
    return JSON({"updated": updated, "missing": missing})


@router.post("/review", responses=doc(BulkResult), summary="Review many subreddits")
async def review_bulk(body: BulkReviewBody, deps: Deps = Depends(get_deps)) -> JSON:
    updated, missing = await _set_review(deps, body.names, body.review, body.by)
    return JSON({"updated": updated, "missing": missing})


def _check_tags(tags: list[str]) -> None:
    bad = taxonomy.unknown_tags(tags)
    if bad:
        raise invalid("body", "tags", f"unknown tags {bad}: see GET /api/v1/categorization/tags")


async def _write_tags(deps: Deps, new_tags: dict[str, list[str]], by: str) -> int:
    names = list(new_tags)
    values = [taxonomy.normalize(new_tags[n]) for n in names]
    prim = [taxonomy.primary_category(v) for v in values]
    res = await deps.pool.execute(
        "UPDATE subreddits s SET tags = string_to_array(v.csv, ','), primary_category = v.prim, "
        "tags_source = 'manual', tags_confidence = NULL, tags_updated_at = now(), tags_updated_by = $4, "
        "taxonomy_version = $5, tags_model = 'manual' "
        "FROM unnest($1::text[], $2::text[], $3::text[]) AS v(name, csv, prim) WHERE s.name = v.name",
        names,
        [",".join(v) for v in values],
        prim,
        by,
        taxonomy.TAXONOMY_VERSION,
    )
    return int(res.split()[-1])


@router.put("/{name}/tags", responses=doc(BulkResult), summary="Set one subreddit's tags (manual)")
async def set_tags(name: NamePath, body: TagsBody, deps: Deps = Depends(get_deps)) -> JSON:
    _check_tags(body.tags)
    real = await deps.pool.fetchval("SELECT name FROM subreddits WHERE lower(name) = lower($1)", clean_sub(name))
    if real is None:
        raise not_found(f"subreddit {name}")
    return JSON({"updated": await _write_tags(deps, {real: body.tags}, body.by), "missing": []})


@router.post("/tags", responses=doc(BulkResult), summary="Add or remove tags on many subreddits (manual)")
async def bulk_tags(body: BulkTagsBody, deps: Deps = Depends(get_deps)) -> JSON:
    _check_tags(body.add + body.remove)
    found = await deps.pool.fetch(
        "SELECT name, tags FROM subreddits WHERE lower(name) = ANY($1::text[])",
        [clean_sub(n).lower() for n in body.names],
    )
    drop = set(body.remove)
    new = {r["name"]: [t for t in [*r["tags"], *body.add] if t not in drop] for r in found}
    updated = await _write_tags(deps, new, body.by) if new else 0
    hit = {r["name"].lower() for r in found}
    return JSON({"updated": updated, "missing": [n for n in body.names if clean_sub(n).lower() not in hit]})
