"""Reels list with search and sort (stored thumbnails/videos joined from media_assets)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from b9_readmodel.media import reel_list
from fastapi import APIRouter
from msgspec import Meta

from b9_gateway.deps import Deps
from b9_gateway.http import JSON, page_bytes
from b9_gateway.openapi import doc
from b9_gateway.query import QueryRoute
from b9_gateway.routes.creators import Reel
from b9_gateway.schemas import MAX_INT, MAX_PER_PAGE
from b9_gateway.sql import paged

router = APIRouter(route_class=QueryRoute, tags=["creators"])


class ReelQuery(msgspec.Struct, frozen=True, kw_only=True):
    creator: Annotated[str, Meta(max_length=200, description="ig_user_id")] | None = None
    q: Annotated[str, Meta(max_length=200, description="Caption search")] | None = None
    niche: Annotated[str, Meta(max_length=100)] | None = None
    min_views: Annotated[int, Meta(ge=0, le=MAX_INT)] | None = None
    review: Annotated[Literal["ok", "pending", "non_related", "any"],
                      Meta(description="Creators' review status (the dashboard's Reels: 'ok', our tracked ones)")
                      ] = "any"
    sort: Literal["views", "recent", "likes", "engagement", "comments"] = "views"
    page: Annotated[int, Meta(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50


@router.get("/reels", responses=doc(Reel, paged=True), summary="Reels with search and sort")
async def list_reels(deps: Deps, query: ReelQuery) -> JSON:
    lq = reel_list(query.creator, query.q, query.niche, query.min_views, query.review, query.sort)
    items, total = await paged(deps.pool, lq, query.page, query.per_page)
    return JSON(page_bytes(Reel, items, total, query.page, query.per_page))
