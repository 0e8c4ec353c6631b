"""Requests people can follow: ``GET /api/v1/requests/{id}`` (``b9_gateway.requests``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, not_found
from b9_gateway.openapi import doc
from b9_gateway.replays import ReplayProgress, progress_of_record
from b9_gateway.requests import RequestView, status_url

router = APIRouter(prefix="/requests", tags=["requests"])
RequestId = Annotated[str, Path(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="Request id (a ULID)")]
# a replay's own statuses -> a request's
REPLAY_STATUS = {"starting": "queued", "running": "running", "completed": "done", "complete": "done",
                 "stopped": "failed", "failed": "failed"}


def replay_view(p: ReplayProgress) -> RequestView:
    status = REPLAY_STATUS.get(p.status, "running")
    failed = status == "failed"
    result: dict[str, Any] = {"processed": p.processed, "total": p.total, "handled": p.handled,
                              "skipped": p.skipped, "dead_lettered": p.dead_lettered,
                              "api": f"/api/v1/replays/{p.id}", "page": "#/admin/replays"}
    return RequestView(
        id=p.id or "", kind="replay", target=p.consumer, status=status,
        reason=("stopped" if p.status == "stopped" else "failed") if failed else None,
        message=(p.error or f"replay {p.status}") if failed else None, result=result,
        created_at=p.started_at.isoformat() if p.started_at else None, requested_by=p.started_by,
        status_url=status_url(p.id or ""),
    )


@router.get("/{request_id}", responses=doc(RequestView),
            summary="A followed request: queued, running, done (with its result) or failed (with the reason)")
async def get_request(request_id: RequestId, deps: Deps = Depends(get_deps)) -> JSON:
    found = await deps.requests.get(request_id, deps.js)
    if found is not None:
        return JSON(msgspec.to_builtins(found))
    rec = await deps.replays.get(request_id)  # a replay's id is its request id
    if rec is not None and rec.status != "dry-run":
        return JSON(msgspec.to_builtins(replay_view(progress_of_record(rec))))
    raise not_found(f"request {request_id}")
