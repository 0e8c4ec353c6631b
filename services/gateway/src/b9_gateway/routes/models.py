"""Models (personas): CRUD, linked Reddit accounts, subreddit recommendations by tags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import ModelCreated, ModelDeleted, ModelUpdated
from b9_readmodel import models as rm
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field, StringConstraints

from b9_gateway.decide import actor_of, new_model_id
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, conflict, not_found, page, require_stored, rows
from b9_gateway.openapi import doc
from b9_gateway.routes.subreddits import SubredditItem
from b9_gateway.schemas import MAX_INT, MAX_PER_PAGE, Body, Tag
from b9_gateway.sql import paged

router = APIRouter(tags=["models"])
IdPath = Annotated[int, Path(ge=1, le=MAX_INT)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]  # as sent (the dashboard trims)
Status = Literal["active", "inactive", "onboarding", "paused"]
RecSort = Literal["score", "avg_upvotes", "min_karma", "engagement", "subscribers"]
Order = Literal["asc", "desc"]


class Model(msgspec.Struct):
    id: int
    name: str
    description: str
    assigned_tags: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    accounts: int


class ModelDetail(msgspec.Struct):
    model: Model
    accounts: list[dict[str, Any]]


class Deleted(msgspec.Struct):
    deleted: bool


class ModelBody(Body):
    name: Name
    description: str = Field(default="", max_length=5000)
    assigned_tags: list[Tag] = Field(default_factory=list, max_length=30)
    status: Status = "active"


class ModelPatch(Body):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=5000)
    assigned_tags: list[Tag] | None = Field(default=None, max_length=30)
    status: Status | None = None


@router.get("/models", responses=doc(Model, many=True), summary="Every model")
async def list_models(deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(rows(await rm.models(deps.pool)))


async def _one(deps: Deps, id_: int) -> dict[str, Any]:
    row = await rm.model(deps.pool, id_)
    if row is None:
        raise not_found(f"model {id_}")
    return dict(row)


async def _name_taken(deps: Deps, name: str, but: int | None = None) -> None:
    if await rm.named(deps.pool, name, but) is not None:
        raise conflict(f"a model named {name!r} exists")


@router.post("/models", status_code=201, responses=doc(Model, status=201), summary="Create a model")
async def create_model(body: ModelBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    await _name_taken(deps, body.name)
    id_ = new_model_id()
    event = ModelCreated(model_id=id_, name=body.name, description=body.description,
                         assigned_tags=list(body.assigned_tags), status=body.status, actor=actor_of(request))
    ids, stored = await deps.decider.decide([event])
    require_stored(stored, ids)
    return JSON(await _one(deps, id_), status_code=201)


@router.get("/models/{id_}", responses=doc(ModelDetail), summary="A model and its Reddit accounts")
async def get_model(id_: IdPath, deps: Deps = Depends(get_deps)) -> JSON:
    model = await _one(deps, id_)
    accounts = await rm.accounts(deps.pool, id_)
    return JSON({"model": model, "accounts": rows(accounts)})


@router.patch("/models/{id_}", responses=doc(Model), summary="Change a model")
async def patch_model(id_: IdPath, body: ModelPatch, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    current = await _one(deps, id_)
    changes = body.model_dump(exclude_none=True)
    if changes:
        if "name" in changes:
            await _name_taken(deps, changes["name"], but=id_)
        before = {k: current[k] for k in changes}
        ids, stored = await deps.decider.decide([ModelUpdated(model_id=id_, before=before, actor=actor_of(request),
                                                              **changes)])
        require_stored(stored, ids)
    return JSON(await _one(deps, id_))


@router.delete("/models/{id_}", responses=doc(Deleted), summary="Delete a model (its accounts are unlinked)")
async def delete_model(id_: IdPath, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    current = await _one(deps, id_)
    ids, stored = await deps.decider.decide([ModelDeleted(model_id=id_, name=current["name"],
                                                          actor=actor_of(request))])
    require_stored(stored, ids)
    return JSON({"deleted": True})


@router.get(
    "/models/{id_}/recommendations",
    responses=doc(SubredditItem, paged=True),
    summary="Ok subreddits sharing a tag with the model (or the given tags)",
)
async def model_recommendations(
    id_: IdPath,
    tags: Annotated[list[str] | None, Query(max_length=20)] = None,
    sfw: bool | None = None,
    sort: RecSort = "score",
    order: Order | None = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    model = await _one(deps, id_)
    return await recommend(deps, tags or model["assigned_tags"], sfw, sort, page_no, per_page, order)


@router.get(
    "/recommendations",
    responses=doc(SubredditItem, paged=True),
    summary="Ok subreddits sharing at least one of the tags",
)
async def recommendations(
    tags: Annotated[list[str], Query(min_length=1, max_length=20)],
    sfw: bool | None = None,
    sort: RecSort = "score",
    order: Order | None = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    return await recommend(deps, tags, sfw, sort, page_no, per_page, order)


async def recommend(deps: Deps, tags: list[str], sfw: bool | None, sort: str, page_no: int, per_page: int,
                    order: str | None = None) -> JSON:
    """A page of recommendations, plus ``counts`` over all of them (SFW, verification required)."""
    if not tags:
        return JSON({**page([], 0, page_no, per_page), "counts": {"sfw": 0, "verification_required": 0}})
    lq = rm.recommendation_list(tags, sfw, sort, order)
    counts = await rm.recommendation_counts(deps.pool, lq)
    items, total = await paged(deps.pool, lq, page_no, per_page)
    return JSON({**page(rows(items), total, page_no, per_page), "counts": dict(counts)})
