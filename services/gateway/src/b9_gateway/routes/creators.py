"""Instagram creators: list/filter/sort, detail with history and stored media, add (command),
review and niche (single and bulk), related-creator discovery; reels list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

import msgspec
from b9_common.events import CreatorNiched, CreatorReviewed, InstagramScrapeRequested
from b9_readmodel import creators as rm
from b9_readmodel import media as rm_media
from fastapi import APIRouter, Depends, Path, Request
from msgspec import Meta
from pydantic import Field

from b9_gateway.decide import DECIDED, actor_of, decided, new_batch
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, not_found, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import QueryRoute
from b9_gateway.schemas import (
    MAX_BULK,
    MAX_PER_PAGE,
    Accepted,
    Actor,
    After,
    Body,
    CreatorReview,
    IgKey,
    IgUsername,
    Niche,
)
from b9_gateway.sql import listing

router = APIRouter(route_class=QueryRoute, tags=["creators"])
KeyPath = Annotated[str, Path(min_length=1, max_length=200)]


class CreatorItem(msgspec.Struct):
    ig_user_id: str
    username: str | None
    full_name: str
    biography: str
    external_url: str | None
    profile_pic_url: str | None
    profile_pic_key: str | None
    is_verified: bool
    is_private: bool
    followers_count: int | None
    following_count: int | None
    media_count: int | None
    engagement_rate: float | None
    avg_reel_views: float | None
    avg_reel_likes: float | None
    avg_post_likes: float | None
    growth_weekly_pct: float | None
    review_status: str | None
    reviewed_by: str | None
    niche: str | None
    tags: list[str]
    discovery_source: str | None
    discovered_at: datetime | None
    discovered_followers_count: int | None
    last_scraped_at: datetime | None


class Reel(msgspec.Struct):
    media_pk: str
    ig_user_id: str
    username: str | None
    niche: str | None
    kind: str
    post_type: str
    shortcode: str | None
    taken_at: datetime | None
    caption: str
    play_count: int
    view_count: int
    like_count: int
    comment_count: int
    engagement_rate: float
    duration: float | None
    thumbnail_url: str | None
    video_url: str | None
    thumbnail_key: str | None
    video_key: str | None
    # an item can be a reel and a post at once (kind is then 'reel'); viral in either role
    is_reel: bool = False
    is_post: bool = False
    is_viral: bool = False


class CreatorDetail(msgspec.Struct):
    creator: dict[str, Any]
    follower_history: list[dict[str, Any]]
    reels: list[Reel]
    posts: list[Reel]
    media: list[dict[str, Any]]


class RelatedStatus(msgspec.Struct):
    approved: int
    processed: int
    unprocessed: int
    new_found_24h: int
    last_processed_at: datetime | None
    pending_commands: int


class AddCreatorBody(Body):
    username: IgUsername
    niche: Niche | None = None


class CreatorReviewBody(Body):
    review_status: CreatorReview | None
    by: Actor = "api"


class BulkCreatorReviewBody(CreatorReviewBody):
    ids: list[IgKey] = Field(min_length=1, max_length=MAX_BULK)


class NicheBody(Body):
    niche: Niche | None


class BulkNicheBody(NicheBody):
    ids: list[IgKey] = Field(min_length=1, max_length=MAX_BULK)


class RelatedBody(Body):
    batch_size: int = Field(default=10, ge=1, le=500)


class CreatorQuery(msgspec.Struct, frozen=True, kw_only=True):
    review: Literal["pending", "ok", "non_related", "any"] | None = None
    niche: Annotated[str, Meta(max_length=100)] | None = None
    niched: bool | None = None
    min_followers: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None
    max_followers: Annotated[int, Meta(ge=0, le=2**31 - 1)] | None = None
    min_engagement: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    max_engagement: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    tags: Annotated[list[str], Meta(max_length=20)] | None = None
    q: Annotated[str, Meta(max_length=200)] | None = None
    sort: Literal[
        "followers",
        "engagement",
        "discovered",
        "last_scraped",
        "avg_reel_views",
        "growth",
        "username",
    ] = "followers"
    order: Literal["desc", "asc"] = "desc"
    page: Annotated[int, Meta(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50
    after: After | None = None


class CreatorPage(msgspec.Struct, frozen=True, kw_only=True):
    media: Annotated[int, Meta(ge=0, le=200, title="Media")] = 30


@router.get("/creators", responses=doc(CreatorItem, paged=True, cursor=True), summary="List creators")
async def list_creators(deps: Deps, query: CreatorQuery) -> JSON:
    lq = rm.creator_list(
        query.review, query.niche, query.niched, query.min_followers, query.max_followers,
        query.min_engagement, query.max_engagement, query.tags, query.q, query.sort, query.order,
    )
    items, total, nxt = await listing(deps.pool, lq, query.page, query.per_page, query.after)
    return JSON(page_bytes(CreatorItem, items, total, query.page, query.per_page, next=nxt))


@router.post(
    "/creators",
    status_code=202,
    responses={**doc(Accepted, status=202), 409: {"description": "The Instagram scraper is not configured"}},
    summary="Add a creator by username (publishes scrape.requested.instagram kind=creator)",
)
async def add_creator(body: AddCreatorBody, deps: Deps = Depends(get_deps)) -> JSON:
    name = body.username.lstrip("@")
    return await deps.accept(InstagramScrapeRequested(kind="creator", username=name, niche=body.niche), name)


@router.post(
    "/creators/related",
    status_code=202,
    responses={**doc(Accepted, status=202), 409: {"description": "The Instagram scraper is not configured"}},
    summary="Start related-creator discovery (publishes scrape.requested.instagram kind=related)",
)
async def start_related(body: RelatedBody, deps: Deps = Depends(get_deps)) -> JSON:
    command = InstagramScrapeRequested(kind="related", batch_size=body.batch_size)
    return await deps.accept(command, f"related:{body.batch_size}")


@router.get(
    "/creators/related/status",
    responses=doc(RelatedStatus),
    summary="Related-creator discovery progress",
)
async def related_status(deps: Deps = Depends(get_deps)) -> JSON:
    row = await rm.related_progress(deps.pool)
    info = await deps.js.stream_info(
        deps.topology.stream("COMMANDS"),
        subjects_filter=deps.topology.subject("scrape.requested.instagram"),
    )
    pending = sum((info.state.subjects or {}).values()) if info.state.subjects else 0
    return JSON(
        {
            "approved": row["approved"],
            "processed": row["processed"],
            "unprocessed": row["unprocessed"],
            "new_found_24h": int(row["new24"]),
            "last_processed_at": row["last"],
            "pending_commands": pending,
        }
    )


@router.get(
    "/creators/{key}",
    responses=doc(CreatorDetail),
    summary="One creator (by ig_user_id or username)",
)
async def get_creator(deps: Deps, key: KeyPath, q: CreatorPage) -> JSON:
    async with deps.pool.acquire() as conn:
        c = await rm.creator(conn, key)
        if c is None:
            raise not_found(f"creator {key}")
        uid = c["ig_user_id"]
        hist = await rm.follower_history(conn, uid)
        reels = await rm_media.creator_media(conn, uid, "reel", q.media)
        posts = await rm_media.creator_media(conn, uid, "post", q.media)
        assets = await rm_media.creator_assets(conn, uid)
    creator = {k: v for k, v in dict(c).items() if k != "search"}
    return JSON(
        {
            "creator": creator,
            "follower_history": rows(hist),
            "reels": rows(reels),
            "posts": rows(posts),
            "media": rows(assets),
        }
    )


async def _decide(request: Request, deps: Deps, ids: list[str], field: str, value: str | None,
                  one: bool = False) -> JSON:
    """One ``creator.reviewed`` / ``creator.niched`` decision per known creator, stored before answering."""
    found = await rm.current(deps.pool, ids, field)
    if one and not found:
        raise not_found(f"creator {ids[0]}")
    actor, batch = actor_of(request), new_batch(len(found))
    events: list[Any] = [
        CreatorReviewed(ig_user_id=r["ig_user_id"], review_status=cast("CreatorReview | None", value), before=r["v"],
                        actor=actor, batch=batch)
        if field == "review"
        else CreatorNiched(ig_user_id=r["ig_user_id"], niche=value, before=r["v"], actor=actor, batch=batch)
        for r in found
    ]
    decision_ids, stored = await deps.decider.decide(events)
    hit = {r["ig_user_id"] for r in found}
    return decided(decision_ids, stored, updated=len(found), missing=[i for i in ids if i not in hit])


@router.put("/creators/{key}/review", responses=DECIDED, summary="Review one creator (ig_user_id)")
async def review_one(key: KeyPath, body: CreatorReviewBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    return await _decide(request, deps, [key], "review", body.review_status, one=True)


@router.post("/creators/review", responses=DECIDED, summary="Review many creators")
async def review_bulk(body: BulkCreatorReviewBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    return await _decide(request, deps, body.ids, "review", body.review_status)


@router.put("/creators/{key}/niche", responses=DECIDED, summary="Set one creator's niche")
async def niche_one(key: KeyPath, body: NicheBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    return await _decide(request, deps, [key], "niche", body.niche, one=True)


@router.post("/creators/niche", responses=DECIDED, summary="Set the niche of many creators")
async def niche_bulk(body: BulkNicheBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    return await _decide(request, deps, body.ids, "niche", body.niche)
