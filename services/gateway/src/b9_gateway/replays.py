"""Replays inside the gateway process: the jobs, their settings, their progress as the API shows it.

A replay runs the target service's own handler code: ``b9_common.replay.jobs`` loads the
service through the ``b9.services`` entry point and bootstraps it (adapters only, no live
consumer) with its own Settings read from ``Settings.service_env()`` (the gateway's NATS,
namespace, database and media store on top of the process environment), exactly as
``b9 replay`` does from the command line. Progress goes to the SSE feed as
``replay.progress`` (at most twice a second per replay, plus every status change).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import msgspec
from b9_common.replay.jobs import Job, ReplayJobs
from b9_common.replay.log import ReplayRecord
from b9_common.service import ServiceDef
from b9_common.settings import load_settings

from b9_gateway.feed import Hub
from b9_gateway.settings import Settings

# The records say "complete"; the API says "completed" (running | completed | stopped | failed).
STATUS = {"complete": "completed"}
PUSH_EVERY = 0.5


class ReplaySlice(msgspec.Struct, kw_only=True):
    stream: str | None = None
    subjects: list[str] = []
    from_seq: int | None = None
    to_seq: int | None = None
    since: str | None = None
    until: str | None = None
    total: int | None = None
    counts: dict[str, int] = {}


class ReplayProgress(msgspec.Struct, kw_only=True):
    id: str | None
    consumer: str
    status: str
    total: int
    processed: int
    percent: float
    handled: int
    skipped: int
    dead_lettered: int
    retried: int
    rate: float
    eta_seconds: float | None
    resume_from: int | None
    error: str
    started_by: str
    started_at: datetime | None
    finished_at: datetime | None = None
    elapsed_seconds: float | None
    dry_run: bool
    rate_limit: float | None
    slice: ReplaySlice | None


class ReplayItem(msgspec.Struct, kw_only=True):
    id: str
    consumer: str
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    slice: ReplaySlice
    outcome: dict[str, Any]
    progress: ReplayProgress | None


class ReplayList(msgspec.Struct):
    items: list[ReplayItem]
    running: int
    max_running: int


def _pct(done: int, total: int) -> float:
    return round(100.0 * min(done, total) / total, 1) if total else 100.0


def progress_of(job: Job) -> ReplayProgress:
    s = job.snapshot()
    status = STATUS.get(s["status"], s["status"])
    done = not job.active
    return ReplayProgress(
        id=None if job.request.dry_run else s["id"], consumer=s["consumer"], status=status, total=s["total"],
        processed=s["visited"], percent=_pct(s["visited"], s["total"]) if s["total"] or done else 0.0,
        handled=s["handled"], skipped=s["skipped"], dead_lettered=s["dead_lettered"], retried=s["retried"],
        rate=s["rate"], eta_seconds=s["eta_seconds"], resume_from=s["resume_from"], error=s["error"],
        started_by=s["started_by"], started_at=job.started_at, elapsed_seconds=s["elapsed_seconds"],
        dry_run=s["dry_run"], rate_limit=s["rate_limit"],
        slice=msgspec.convert({**s["slice"], "total": s["total"]}, ReplaySlice) if s["slice"] else None,
    )


def progress_of_record(rec: ReplayRecord) -> ReplayProgress:
    """Progress as recorded (a replay that ran in another process, or before a restart)."""
    o, sl = rec.outcome, _slice(rec.slice)
    total = int(o.get("total") or sl.total or 0)
    visited = int(o.get("visited") or 0)
    status = STATUS.get(rec.status, rec.status)
    return ReplayProgress(
        id=rec.id, consumer=rec.consumer, status=status, total=total, processed=visited,
        percent=_pct(visited, total) if status != "running" else 0.0, handled=int(o.get("handled") or 0),
        skipped=int(o.get("skipped") or 0), dead_lettered=int(o.get("dead_lettered") or 0),
        retried=int(o.get("retried") or 0),
        rate=round(visited / o["seconds"], 1) if o.get("seconds") else 0.0, eta_seconds=None,
        resume_from=o.get("resume_from"), error=str(o.get("error") or ""), started_by=rec.started_by,
        started_at=rec.started_at, finished_at=rec.finished_at,
        elapsed_seconds=float(o["seconds"]) if o.get("seconds") is not None else None,
        dry_run=False, rate_limit=_rate_of(rec.slice), slice=sl,
    )


def _rate_of(raw: dict[str, Any]) -> float | None:
    rate = raw.get("rate")
    return float(rate) if isinstance(rate, int | float) else None


def _slice(raw: dict[str, Any]) -> ReplaySlice:
    try:
        return msgspec.convert(raw, ReplaySlice, strict=False)
    except msgspec.ValidationError:
        return ReplaySlice()


def item_of(rec: ReplayRecord, job: Job | None) -> ReplayItem:
    live = progress_of(job) if job is not None else None
    status = live.status if live is not None else STATUS.get(rec.status, rec.status)
    return ReplayItem(
        id=rec.id, consumer=rec.consumer, status=status, started_by=rec.started_by, started_at=rec.started_at,
        finished_at=rec.finished_at, slice=_slice(rec.slice), outcome=rec.outcome,
        progress=live if live is not None else progress_of_record(rec),
    )


def item_of_job(job: Job) -> ReplayItem:
    """A job whose record is not written yet (still bootstrapping or counting)."""
    p = progress_of(job)
    assert p.started_at is not None
    return ReplayItem(id=job.id, consumer=p.consumer, status=p.status, started_by=p.started_by,
                      started_at=p.started_at, finished_at=None, slice=p.slice or ReplaySlice(),
                      outcome={"status": job.status}, progress=p)


def replay_jobs(settings: Settings, hub: Hub) -> ReplayJobs:
    env = settings.service_env()
    last_push: dict[str, tuple[float, str]] = {}

    def settings_for(sdef: ServiceDef) -> Any:
        return load_settings(sdef.settings_cls, env)

    def on_update(job: Job) -> None:
        if job.request.dry_run:
            return
        now = time.monotonic()
        prev = last_push.get(job.id)
        if job.active and prev is not None and prev[1] == job.status and now - prev[0] < PUSH_EVERY:
            return
        if job.active:
            last_push[job.id] = (now, job.status)
        else:
            last_push.pop(job.id, None)
        if hub.listeners:
            hub.publish("replay.progress", {"type": "replay.progress", **msgspec.to_builtins(progress_of(job))})

    return ReplayJobs(settings_for, settings.database_url, max_running=settings.gateway_max_replays,
                      on_update=on_update)
