"""Reddit users: list/search, detail with posts, discover (command), our_creator and model links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import AccountLinked, AccountUnlinked, RedditScrapeRequested, UserMarkedOurs
from b9_readmodel import models as rm_models
from b9_readmodel import users as rm
from fastapi import APIRouter, Depends, Path, Request
from msgspec import Meta
from pydantic import ConfigDict, Field

from b9_gateway.decide import DECIDED, actor_of, decided, new_batch
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, page_bytes, rows
from b9_gateway.openapi import doc
from b9_gateway.query import QueryRoute
from b9_gateway.schemas import (
    MAX_BULK,
    MAX_INT,
    MAX_PER_PAGE,
    Accepted,
    After,
    Body,
    RedditUsername,
    clean_user,
)
from b9_gateway.sql import listing

router = APIRouter(route_class=QueryRoute, prefix="/users", tags=["users"])
UserPath = Annotated[str, Path(pattern=r"^(u/)?[A-Za-z0-9_-]{1,50}$")]


class UserItem(msgspec.Struct):
    username: str
    availability: str | None
    account_age_days: int | None
    link_karma: int | None
    comment_karma: int | None
    total_karma: int | None
    karma_per_day: float | None
    avg_post_score: float | None
    avg_post_comments: float | None
    preferred_content_type: str | None
    most_active_hour: int | None
    verified: bool
    icon_img: str | None
    our_creator: bool
    model_id: int | None
    last_scraped_at: datetime | None


class UserDetail(msgspec.Struct):
    user: dict[str, Any]
    model: dict[str, Any] | None
    posts: list[dict[str, Any]]


class DiscoverBody(Body):
    username: RedditUsername
    our_creator: bool = Field(default=True, description="Mark as one of ours (the original's discover did)")


class OurCreatorBody(Body):
    our_creator: bool


class ModelLinkBody(Body):
    model_id: int | None = Field(ge=1, le=MAX_INT)


class BulkUsersBody(Body):
    # something to change: our_creator (a boolean), model_id (a number) or clear_model true
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["our_creator"], "properties": {"our_creator": {"type": "boolean"}}},
        {"required": ["model_id"], "properties": {"model_id": {"type": "integer"}}},
        {"required": ["clear_model"], "properties": {"clear_model": {"const": True}}},
    ]})
    usernames: list[RedditUsername] = Field(min_length=1, max_length=MAX_BULK)
    our_creator: bool | None = None
    model_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    clear_model: bool = False


class UserQuery(msgspec.Struct, frozen=True, kw_only=True):
    q: Annotated[str, Meta(max_length=100, description="Username prefix")] | None = None
    our_creator: bool | None = None
    model_id: Annotated[int, Meta(ge=1, le=MAX_INT)] | None = None
    min_karma: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    max_karma: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None = None
    active_days: Annotated[int, Meta(ge=1, le=3650, description="Scraped in the last N days")] | None = None
    sort: Literal["karma", "karma_per_day", "avg_post_score", "account_age", "last_scraped", "username"] = "karma"
    order: Literal["desc", "asc"] = "desc"
    page: Annotated[int, Meta(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)] = 50
    after: After | None = None


class UserPage(msgspec.Struct, frozen=True, kw_only=True):
    posts: Annotated[int, Meta(ge=0, le=500, title="Posts")] = 50


@router.get("", responses=doc(UserItem, paged=True, cursor=True), summary="List and search Reddit users")
async def list_users(deps: Deps, query: UserQuery) -> JSON:
    prefix = clean_user(query.q.strip()) if query.q and query.q.strip() else None
    lq = rm.user_list(prefix, query.our_creator, query.model_id, query.min_karma, query.max_karma,
                      query.active_days, query.sort, query.order)
    items, total, nxt = await listing(deps.pool, lq, query.page, query.per_page, query.after)
    return JSON(page_bytes(UserItem, items, total, query.page, query.per_page, next=nxt))


@router.post(
    "",
    status_code=202,
    responses=doc(Accepted, status=202),
    summary="Discover one user now (publishes scrape.requested.reddit kind=user)",
)
async def discover(body: DiscoverBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    name = clean_user(body.username)
    if body.our_creator:
        # "Add our creator": the mark is a decision (stored before the scrape is queued)
        known = await rm.marked_ours(deps.pool, name)
        mark = UserMarkedOurs(username=known["username"] if known else name, our_creator=True,
                              before=known["our_creator"] if known else None, actor=actor_of(request))
        await deps.decider.decide([mark])
    return await deps.accept(RedditScrapeRequested(kind="user", name=name), name)


@router.get("/{username}", responses=doc(UserDetail), summary="One user with their posts")
async def get_user(deps: Deps, username: UserPath, q: UserPage) -> JSON:
    async with deps.pool.acquire() as conn:
        user = await rm.user(conn, clean_user(username))
        if user is None:
            raise not_found(f"user {username}")
        found = await rm.user_posts(conn, user["username"], q.posts)
        model = None
        if user["model_id"] is not None:
            m = await rm_models.model_brief(conn, user["model_id"])
            model = dict(m) if m else None
    return JSON({"user": dict(user), "model": model, "posts": rows(found)})


async def _update(request: Request, deps: Deps, names: list[str], our_creator: bool | None,
                  model_id: int | None, unlink: bool, *, one: str | None = None) -> JSON:
    """One decision per user and change (marked ours, linked, unlinked), stored before answering."""
    if our_creator is None and model_id is None and not unlink:
        raise invalid("body", "our_creator", "nothing to change: give our_creator, model_id or clear_model")
    if model_id is not None and not await rm_models.exists(deps.pool, model_id):
        raise not_found(f"model {model_id}")  # the body is valid; the model is not there
    found = await rm.current(deps.pool, [clean_user(n).lower() for n in names])
    actor = actor_of(request)
    per_user = (our_creator is not None) + (model_id is not None or unlink)
    batch = new_batch(len(found) * per_user)
    events: list[Any] = []
    for u in found:
        if our_creator is not None:
            events.append(UserMarkedOurs(username=u["username"], our_creator=our_creator,
                                         before=u["our_creator"], actor=actor, batch=batch))
        if model_id is not None:
            events.append(AccountLinked(username=u["username"], model_id=model_id, before=u["model_id"],
                                        actor=actor, batch=batch))
        elif unlink:
            events.append(AccountUnlinked(username=u["username"], before=u["model_id"], actor=actor, batch=batch))
    if one is not None and not found:
        raise not_found(f"user {one}")
    ids, stored = await deps.decider.decide(events)
    hit = {u["username"].lower() for u in found}
    return decided(ids, stored, updated=len(found), missing=[n for n in names if clean_user(n).lower() not in hit])


@router.put("/{username}/our-creator", responses=DECIDED, summary="Mark or unmark as our creator")
async def set_our_creator(
    username: UserPath, body: OurCreatorBody, request: Request, deps: Deps = Depends(get_deps)
) -> JSON:
    return await _update(request, deps, [username], body.our_creator, None, False, one=username)


@router.put(
    "/{username}/model",
    responses=DECIDED,
    summary="Link the account to a model (or unlink)",
)
async def set_model(username: UserPath, body: ModelLinkBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    unlink = body.model_id is None
    return await _update(request, deps, [username], None, body.model_id, unlink, one=username)


@router.post("/bulk", responses=DECIDED, summary="Update our_creator / model of many users")
async def bulk_update(body: BulkUsersBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    return await _update(request, deps, body.usernames, body.our_creator, body.model_id,
                         body.model_id is None and body.clear_model)
