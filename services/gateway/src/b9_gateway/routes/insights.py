"""Insights computed from the facts already stored.

Rising subreddits (``GET /api/v1/insights/rising-subreddits``): subscriber and activity growth over
the last 7 or 30 days of each subreddit's own snapshots (``subreddit_snapshots``, one per fetch),
ranked, with a sparkline. Only subreddits with enough history are listed: at least ``min_points``
snapshots spanning the whole window (less one day of slack).

Creator authenticity (``GET /api/v1/insights/creator-authenticity``): the signals of
``b9_common.alerting.insights`` per creator, each with its explanation, and the score they make.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from b9_common.alerting import insights as authenticity
from b9_readmodel import insights as rm
from fastapi import APIRouter, Depends, Query
from nats.js.errors import KeyNotFoundError

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, page
from b9_gateway.openapi import doc
from b9_gateway.schemas import MAX_PER_PAGE

router = APIRouter(tags=["insights"])
SPARK = 30


class RisingSubreddit(msgspec.Struct):
    subreddit: str
    start_subscribers: int
    end_subscribers: int
    growth: int
    growth_pct: float | None
    start_active: int | None
    end_active: int | None
    active_growth_pct: float | None
    points: int
    since: datetime
    until: datetime
    sparkline: list[int]




def _spark(values: list[int]) -> list[int]:
    if len(values) <= SPARK:
        return values
    step = (len(values) - 1) / (SPARK - 1)
    return [values[round(i * step)] for i in range(SPARK)]


@router.get("/insights/rising-subreddits", responses=doc(RisingSubreddit, paged=True),
            summary="Subreddits ranked by growth over 7 or 30 days of their own snapshots")
async def rising_subreddits(
    days: Annotated[Literal["7", "30"], Query(description="The window: 7 or 30 days")] = "7",
    sort: Annotated[Literal["growth_pct", "growth", "active_growth_pct", "subscribers"],
                    Query(description="Ranking")] = "growth_pct",
    min_points: Annotated[int, Query(ge=2, le=1000, description="Snapshots needed in the window")] = 3,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    found = await rm.rising_page(deps.pool, int(days), min_points, sort, per_page, (page_no - 1) * per_page)
    total = found[0]["total"] if found else 0
    items = [{k: v for k, v in dict(r).items() if k != "total"} | {"sparkline": _spark(list(r["sparkline"]))}
             for r in found]
    return JSON(page(items, total, page_no, per_page))


class Signal(msgspec.Struct):
    signal: str
    explanation: str


class CreatorAuthenticity(msgspec.Struct):
    ig_user_id: str
    username: str | None
    followers_count: int
    engagement_rate: float | None
    score: int
    signals: list[Signal]


THRESHOLDS_KEY = "insights.authenticity"


async def thresholds(deps: Deps) -> dict[str, float]:
    """The defaults, overridden by the control bucket's ``insights.authenticity`` (a JSON object)."""
    try:
        entry = await deps.control.get(THRESHOLDS_KEY)
        given = msgspec.json.decode(entry.value or b"{}", type=dict[str, float])
    except (KeyNotFoundError, msgspec.DecodeError):
        given = {}
    return {**authenticity.DEFAULTS, **{k: v for k, v in given.items() if k in authenticity.DEFAULTS}}


@router.get("/insights/creator-authenticity", responses=doc(CreatorAuthenticity, paged=True),
            summary="Creators' authenticity signals (each explained) and the score they make, highest first")
async def creator_authenticity(
    min_score: Annotated[int, Query(ge=0, le=100, description="Only creators scoring at least this")] = 1,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    rows = [dict(r) for r in await rm.creator_histories(deps.pool)]
    t = await thresholds(deps)
    found = [a for a in authenticity.assess(rows, t) if a["score"] >= min_score]
    found.sort(key=lambda a: (-a["score"], a["username"] or "", a["ig_user_id"]))
    start = (page_no - 1) * per_page
    body = page(found[start:start + per_page], len(found), page_no, per_page)
    return JSON({**body, "thresholds": t})
