"""Replay admin: start a replay of a consumer over a stream slice, watch it, stop it, list them.

Replays run inside this gateway process (``b9_gateway.replays``); their records (who, what
slice, when, outcome) are the same as ``b9 replay``'s, so both tools list each other's.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import entry_points
from typing import Annotated, Any

import msgspec
from b9_common.replay.jobs import ReplayBusy, ReplayError, ReplayRequest
from b9_common.replay.log import get_record, list_records
from b9_common.replay.slices import parse_time
from b9_common.settings import ConfigError
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import Field, field_validator

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, unavailable
from b9_gateway.openapi import doc
from b9_gateway.replays import ReplayList, ReplayProgress, item_of, item_of_job, progress_of, progress_of_record
from b9_gateway.requests import status_url
from b9_gateway.schemas import MAX_INT, StrictJson

router = APIRouter(prefix="/replays", tags=["replays"])
ReplayId = Annotated[str, Path(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="Replay id (a ULID)")]
SUBJECT = r"^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$"
NOT_REPLAYABLE = {"gateway"}  # no consumers
# The installed services with consumers: the schema lists them (an unknown one is not valid).
SERVICES = sorted(ep.name for ep in entry_points(group="b9.services") if ep.name not in NOT_REPLAYABLE)
CONSUMER_SCHEMA: Any = {"anyOf": [
    {"type": "string", "enum": SERVICES},
    {"type": "string", "maxLength": 100, "pattern": f"^({'|'.join(SERVICES)}):[A-Za-z0-9_-]+$"},
]}


class ReplayBody(StrictJson):
    consumer: str = Field(
        min_length=1, max_length=100, pattern=r"^[a-z0-9_-]+(:[A-Za-z0-9_-]+)?$",
        description="<service> or <service>:<consumer>, e.g. persistence, categorizer",
        json_schema_extra=CONSUMER_SCHEMA,
    )
    stream: str | None = Field(default=None, max_length=50, pattern=r"^[A-Za-z_]+$",
                               description="SCRAPE, DERIVED (default: the consumer's stream)")
    since: str | None = Field(default=None, max_length=64, description="ISO-8601 or relative: 30m, 2h, 1d")
    until: str | None = Field(default=None, max_length=64, description="ISO-8601 or relative")
    from_seq: int | None = Field(default=None, ge=1, le=MAX_INT)
    to_seq: int | None = Field(default=None, ge=1, le=MAX_INT)
    subject: list[Annotated[str, Field(max_length=200, pattern=SUBJECT)]] = Field(
        default_factory=list, max_length=20, description="Event types (filters); one string is accepted too")
    dry_run: bool = Field(default=False, description="Count what the slice holds; run nothing (200)")
    rate: float | None = Field(default=None, gt=0, le=1_000_000, description="At most N events/s")
    by: str = Field(default="api", min_length=1, max_length=100, description="Who starts it (recorded)")

    @field_validator("subject", mode="before")
    @classmethod
    def one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Consumers(msgspec.Struct):
    services: list[str]
    max_running: int


def _time(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise invalid("body", name, str(exc)) from None
    except OverflowError:
        raise invalid("body", name, f"out of range: {value!r}") from None


def request_of(body: ReplayBody) -> ReplayRequest:
    if body.since and body.from_seq:
        raise invalid("body", "from_seq", "give since or from_seq, not both")
    if body.until and body.to_seq:
        raise invalid("body", "to_seq", "give until or to_seq, not both")
    since, until = _time(body.since, "since"), _time(body.until, "until")
    if since and until and since >= until:
        raise invalid("body", "until", "must be later than since")
    if body.from_seq and body.to_seq and body.from_seq > body.to_seq:
        raise invalid("body", "to_seq", "must be >= from_seq")
    return ReplayRequest(target=body.consumer, stream=body.stream.upper() if body.stream else None,
                         subjects=tuple(body.subject), from_seq=body.from_seq, to_seq=body.to_seq,
                         since=since, until=until, rate=body.rate, dry_run=body.dry_run)


@router.get("/consumers", responses=doc(Consumers), summary="Services whose consumers can be replayed")
async def consumers(deps: Deps = Depends(get_deps)) -> JSON:
    return JSON({"services": SERVICES, "max_running": deps.settings.gateway_max_replays})


@router.post(
    "",
    status_code=202,
    responses={**doc(ReplayProgress, status=202, description="Started"),
               **doc(ReplayProgress, description="Dry run: the plan, nothing ran"),
               409: {"description": "Too many replays running"}},
    summary="Start a replay of a consumer over a stream slice (runs in the gateway)",
)
async def start(body: ReplayBody, deps: Deps = Depends(get_deps)) -> JSON:
    req = request_of(body)
    if req.target.partition(":")[0] in NOT_REPLAYABLE:
        raise invalid("body", "consumer", f"{req.target} has no consumers to replay")
    try:
        job = await deps.replays.submit(req, started_by=body.by)
    except ReplayBusy as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except ReplayError as exc:
        raise invalid("body", exc.field, str(exc)) from None
    except ConfigError as exc:
        raise invalid("body", "consumer", f"cannot configure {req.target} in the gateway: {exc}") from None
    if job.status == "failed":
        raise unavailable(f"replay could not start: {job.error}")
    if req.dry_run:
        return JSON(progress_of(job), status_code=200)
    # a request people can follow: its id is the replay's (GET /requests/{id} maps its status)
    return JSON({**msgspec.to_builtins(progress_of(job)), "request_id": job.id,
                 "status_url": status_url(job.id)}, status_code=202)


@router.get("", responses=doc(ReplayList), summary="Recorded replays, newest first (with live progress)")
async def list_replays(
    limit: Annotated[int, Query(ge=1, le=200)] = 50, deps: Deps = Depends(get_deps)
) -> JSON:
    records = await list_records(deps.js, deps.topology, deps.settings.database_url, limit)
    seen = {r.id for r in records}
    items = [item_of_job(j) for j in deps.replays.running() if j.id not in seen and not j.request.dry_run]
    items += [item_of(r, deps.replays.get(r.id)) for r in records]
    items.sort(key=lambda i: i.started_at, reverse=True)
    return JSON(ReplayList(items=items[:limit], running=len(deps.replays.running()),
                           max_running=deps.settings.gateway_max_replays))


@router.get("/{replay_id}", responses=doc(ReplayProgress), summary="One replay's progress")
async def get_replay(replay_id: ReplayId, deps: Deps = Depends(get_deps)) -> JSON:
    job = deps.replays.get(replay_id)
    if job is not None:
        return JSON(progress_of(job))
    rec = await get_record(deps.js, deps.topology, replay_id, deps.settings.database_url)
    if rec is None:
        raise not_found(f"replay {replay_id}")
    return JSON(progress_of_record(rec))


@router.post(
    "/{replay_id}/stop",
    status_code=202,
    responses={**doc(ReplayProgress, status=202), 409: {"description": "Not running in this gateway"}},
    summary="Stop a running replay (in-flight work finishes; its record says where to resume)",
)
async def stop(replay_id: ReplayId, deps: Deps = Depends(get_deps)) -> JSON:
    job = deps.replays.get(replay_id)
    if job is None:
        if await get_record(deps.js, deps.topology, replay_id, deps.settings.database_url) is None:
            raise not_found(f"replay {replay_id}")
        raise HTTPException(status_code=409, detail=f"replay {replay_id} is not running in this gateway")
    deps.replays.stop(replay_id)
    return JSON(progress_of(job), status_code=202)
