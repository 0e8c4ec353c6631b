"""Decision history: who decided what, when, from -> to (persistence's ``decision_log``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_readmodel.decisions import history_page
from fastapi import APIRouter, Depends, Query

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, page_bytes
from b9_gateway.openapi import doc
from b9_gateway.schemas import MAX_PER_PAGE, clean_sub, clean_user

router = APIRouter(tags=["history"])

EntityType = Literal["subreddit", "user", "creator", "model", "alert_rule"]


class HistoryItem(msgspec.Struct):
    id: str
    type: str
    entity_type: str
    entity_id: str
    field: str
    before: Any
    after: Any
    actor_id: str
    actor_name: str
    actor_role: str
    channel: str
    batch: str | None
    decided_at: datetime


def _entity_key(entity_type: str, entity_id: str) -> str:
    """The key decision_log uses: lower-cased names for subreddits and users, ids as they are."""
    if entity_type == "subreddit":
        return clean_sub(entity_id).lower()
    if entity_type == "user":
        return clean_user(entity_id).lower()
    return entity_id


@router.get("/history", responses=doc(HistoryItem, paged=True),
            summary="Decisions, newest first (of one entity, one person, or all)")
async def history(
    entity_type: Annotated[EntityType | None, Query(description="subreddit|user|creator|model|alert_rule")] = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$",
                                           description="Name (subreddit, user), ig_user_id or model id")] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]+$",
                                       description="Account id of the person")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    key = _entity_key(entity_type or "", entity_id) if entity_id is not None else None
    async with deps.pool.acquire() as conn:
        found, total = await history_page(conn, entity_type, key, actor, page, per_page)
    return JSON(page_bytes(HistoryItem, found, total, page, per_page))
