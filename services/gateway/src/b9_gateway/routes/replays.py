"""Replay admin: ask the owning service for a replay of its consumer over a stream slice,
watch it, stop it, list them.

Replays run in a replica of the service that owns the consumer, never in the gateway
(``b9_gateway.replays``); their records (who, what slice, when, which process, outcome) are
the same as ``b9 replay``'s, so both tools list each other's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from b9_common.replay.jobs import ReplayBusy, ReplayError, ReplayRequest
from b9_common.replay.request import REPLAYABLE, NoOwner
from b9_common.replay.slices import parse_time
from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field, field_validator

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, conflict, invalid, not_found, unavailable
from b9_gateway.openapi import doc
from b9_gateway.replays import ReplayList, ReplayProgress, item_of, progress_of_record
from b9_gateway.requests import status_url
from b9_gateway.schemas import MAX_INT, StrictJson

router = APIRouter(prefix="/replays", tags=["replays"])
ReplayId = Annotated[str, Path(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="Replay id (a ULID)")]
SUBJECT = r"^[A-Za-z0-9_*>-]+(\.[A-Za-z0-9_*>-]+)*$"
NOT_REPLAYABLE = {"gateway"}  # no consumers
# The services that own replayable consumers (the catalogue's replay.requested.<service>):
# the schema lists them (an unknown one is not valid).
SERVICES = sorted(REPLAYABLE)
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
    responses={**doc(ReplayProgress, status=202, description="Started (in a replica of the owning service)"),
               **doc(ReplayProgress, description="Dry run: the plan, nothing ran"),
               409: {"description": "Too many replays running, or no replica of the owning service runs "
                                    "(no heartbeat) or takes it"},
               503: {"description": "The owning service could not start it"}},
    summary="Ask the owning service to replay a consumer over a stream slice",
)
async def start(body: ReplayBody, deps: Deps = Depends(get_deps)) -> JSON:
    req = request_of(body)
    if req.target.partition(":")[0] in NOT_REPLAYABLE:
        raise invalid("body", "consumer", f"{req.target} has no consumers to replay")
    try:
        rec = await deps.replays.submit(req, started_by=body.by)
    except ReplayBusy as exc:
        raise conflict(str(exc)) from None
    except ReplayError as exc:
        raise invalid("body", exc.field, str(exc)) from None
    except NoOwner as exc:  # as a command to a stopped scraper: it cannot run now, and why
        raise conflict(str(exc)) from None
    progress = progress_of_record(rec)
    if progress.status == "failed":
        raise unavailable(f"replay could not start: {progress.error}")
    if req.dry_run:
        return JSON(progress, status_code=200)
    # a request people can follow: its id is the replay's (GET /requests/{id} maps its status)
    return JSON({**msgspec.to_builtins(progress), "request_id": rec.id, "status_url": status_url(rec.id)},
                status_code=202)


@router.get("", responses=doc(ReplayList), summary="Recorded replays, newest first (with their progress)")
async def list_replays(
    limit: Annotated[int, Query(ge=1, le=200)] = 50, deps: Deps = Depends(get_deps)
) -> JSON:
    items = [item_of(r) for r in await deps.replays.records(max(limit, 50))]
    running = sum(1 for i in items if i.status in ("starting", "running"))
    return JSON(ReplayList(items=items[:limit], running=running, max_running=deps.settings.gateway_max_replays))


@router.get("/{replay_id}", responses=doc(ReplayProgress), summary="One replay's progress")
async def get_replay(replay_id: ReplayId, deps: Deps = Depends(get_deps)) -> JSON:
    rec = await deps.replays.get(replay_id)
    if rec is None:
        raise not_found(f"replay {replay_id}")
    return JSON(progress_of_record(rec))


@router.post(
    "/{replay_id}/stop",
    status_code=202,
    responses=doc(ReplayProgress, status=202),
    summary="Stop a running replay (in-flight work finishes; its record says where to resume)",
)
async def stop(replay_id: ReplayId, deps: Deps = Depends(get_deps)) -> JSON:
    rec = await deps.replays.get(replay_id)
    if rec is None:
        raise not_found(f"replay {replay_id}")
    return JSON(progress_of_record(await deps.replays.stop(rec)), status_code=202)
