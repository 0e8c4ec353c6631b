"""Reels list with search and sort (stored thumbnails/videos joined from media_assets)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, page, rows
from b9_gateway.openapi import doc
from b9_gateway.routes.creators import MEDIA_COLS, MEDIA_FROM, REEL_SORTS, Reel
from b9_gateway.schemas import MAX_PER_PAGE
from b9_gateway.sql import Where, paged

router = APIRouter(tags=["creators"])


@router.get("/reels", responses=doc(Reel, paged=True), summary="Reels with search and sort")
async def list_reels(
    creator: Annotated[str | None, Query(max_length=200, description="ig_user_id")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Caption search")] = None,
    niche: Annotated[str | None, Query(max_length=100)] = None,
    min_views: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    sort: Literal["views", "recent", "likes", "engagement", "comments"] = "views",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    w = Where()
    w.add("m.kind = 'reel'")
    if creator:
        w.add("m.ig_user_id = {}", creator)
    if niche:
        w.add("c.niche = {}", niche)
    if min_views is not None:
        w.add("m.play_count >= {}", min_views)
    if q and q.strip():
        w.add("to_tsvector('simple', m.caption) @@ websearch_to_tsquery('simple', {})", q)
    items, total = await paged(
        deps.pool, MEDIA_COLS, MEDIA_FROM, w, REEL_SORTS[sort] + ", m.media_pk", page_no, per_page
    )
    return JSON(page(rows(items), total, page_no, per_page))
