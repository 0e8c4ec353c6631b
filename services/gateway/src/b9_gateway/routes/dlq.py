"""DLQ admin: list, show, retry one/all, purge (shared logic in b9_common.jetstream.dlq_admin)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from b9_common.jetstream.dlq_admin import DeadLetter, DlqAdmin
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, not_found
from b9_gateway.openapi import doc
from b9_gateway.schemas import MAX_INT

router = APIRouter(prefix="/dlq", tags=["dlq"])

TypePattern = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$",
        description="Event type or pattern, e.g. subreddit.fetched, creator.*, >",
    ),
]


class DlqList(msgspec.Struct):
    items: list[DeadLetter]
    depth: int
    next_after_seq: int | None


class DlqCount(msgspec.Struct):
    count: int


class Selector(BaseModel):
    type: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$")
    reason: str | None = Field(default=None, max_length=200)


async def admin(deps: Deps = Depends(get_deps)) -> DlqAdmin:
    return DlqAdmin(deps.js, deps.topology)


@router.get("", responses=doc(DlqList), summary="Dead letters in order, filtered by type and reason")
async def list_dlq(
    type: TypePattern = None,
    reason: Annotated[str | None, Query(max_length=200)] = None,
    after_seq: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    dlq: DlqAdmin = Depends(admin),
) -> JSON:
    items = await dlq.scan(type_pattern=type, reason=reason, after_seq=after_seq, limit=limit)
    nxt = items[-1].seq if len(items) == limit else None
    return JSON({"items": items, "depth": await dlq.depth(), "next_after_seq": nxt})


@router.get("/{seq:int}", responses=doc(DeadLetter), summary="One dead letter with its bytes and headers")
async def show(seq: Annotated[int, Path(ge=1, le=MAX_INT)], dlq: DlqAdmin = Depends(admin)) -> JSON:
    item = await dlq.get(seq)
    if item is None:
        raise not_found(f"dead letter {seq}")
    return JSON(item)


@router.post(
    "/{seq:int}/retry",  # :int: /dlq/purge and /dlq/retry are never read as a seq
    responses=doc(DeadLetter),
    summary="Republish to the original subject, then delete from the DLQ",
)
async def retry(seq: Annotated[int, Path(ge=1, le=MAX_INT)], dlq: DlqAdmin = Depends(admin)) -> JSON:
    item = await dlq.retry(seq)
    if item is None:
        raise not_found(f"dead letter {seq}")
    return JSON(item)


@router.post("/retry", responses=doc(DlqCount), summary="Retry every dead letter matching the selector")
async def retry_all(body: Selector, dlq: DlqAdmin = Depends(admin)) -> JSON:
    return JSON({"count": await dlq.retry_all(type_pattern=body.type, reason=body.reason)})


@router.post("/purge", responses=doc(DlqCount), summary="Delete dead letters (all, or of one type pattern)")
async def purge(body: Selector, dlq: DlqAdmin = Depends(admin)) -> JSON:
    return JSON({"count": await dlq.purge(type_pattern=body.type)})
