"""Replays as the API shows them: asked of the owning service, read back from its record.

The gateway runs no other service's code. ``ReplayDesk.submit`` publishes
``replay.requested.<service>`` (``b9_common.replay.request.ask``: refused at once for a service
that is not replayable, a work-queue stream, or no live replica of the service), then waits
for the owning replica to claim and plan it: its record in KV bucket ``replays`` leaves
``starting`` (a dry run ends ``dry-run`` with the plan, in bucket ``replay_plans``; a request the service refuses ends
``failed`` with the reason and the field at fault). Progress, the runner (service, replica,
host, pid) and the outcome are read from that record; the SSE feed sends each change of the
bucket as ``replay.progress`` (the owner writes at most twice a second per replay).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import b9_common.replay.request as ask_
import msgspec
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.replay.jobs import ReplayBusy, ReplayError, ReplayRequest
from b9_common.replay.log import ReplayRecord, get_record, list_records, replays_kv
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

# The records say "complete"; the API says "completed" (starting | running | completed | stopped | failed).
STATUS = {"complete": "completed"}
PLAN_WITHIN = 30.0  # seconds the API waits for the owner to claim and plan a replay


class ReplaySlice(msgspec.Struct, kw_only=True):
    stream: str | None = None
    subjects: list[str] = []
    from_seq: int | None = None
    to_seq: int | None = None
    since: str | None = None
    until: str | None = None
    total: int | None = None
    counts: dict[str, int] = {}


class ReplayRunner(msgspec.Struct, kw_only=True):
    """The process that runs the replay: a replica of the owning service."""

    service: str = ""
    replica: str = ""
    host: str = ""
    pid: int = 0


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
    runner: ReplayRunner | None = None


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


def status_of(rec: ReplayRecord) -> tuple[str, str]:
    """The API status and error of a record; an active one its replica stopped updating is failed."""
    o = rec.outcome
    if rec.status in ask_.ACTIVE and not ask_.is_active(rec):
        who = rec.runner.get("replica") or "its replica"
        return "failed", f"no progress from {who} since {(rec.updated_at or rec.started_at).isoformat()}: it stopped"
    return STATUS.get(rec.status, rec.status), str(o.get("error") or "")


def progress_of_record(rec: ReplayRecord) -> ReplayProgress:
    o, sl = rec.outcome, _slice(rec.slice)
    status, error = status_of(rec)
    total = int(o.get("total") or sl.total or 0)
    visited = int(o.get("visited") or 0)
    seconds = float(o["seconds"]) if o.get("seconds") is not None else None
    rate = round(visited / seconds, 1) if seconds else 0.0
    running = status == "running"
    dry = rec.status == "dry-run"
    if sl.total is None and total:
        sl.total = total
    return ReplayProgress(
        id=None if dry else rec.id, consumer=rec.consumer, status=status, total=total, processed=visited,
        percent=_pct(visited, total) if total or not running else 0.0, handled=int(o.get("handled") or 0),
        skipped=int(o.get("skipped") or 0), dead_lettered=int(o.get("dead_lettered") or 0),
        retried=int(o.get("retried") or 0), rate=rate,
        eta_seconds=round((total - visited) / rate, 1) if running and rate else None,
        resume_from=o.get("resume_from"), error=error, started_by=rec.started_by,
        started_at=rec.started_at, finished_at=rec.finished_at, elapsed_seconds=seconds,
        dry_run=dry, rate_limit=_rate_of(rec.slice), slice=sl,
        runner=msgspec.convert(rec.runner, ReplayRunner) if rec.runner else None,
    )


def _rate_of(raw: dict[str, Any]) -> float | None:
    rate = raw.get("rate")
    return float(rate) if isinstance(rate, int | float) else None


def _slice(raw: dict[str, Any]) -> ReplaySlice:
    try:
        return msgspec.convert(raw, ReplaySlice, strict=False)
    except msgspec.ValidationError:
        return ReplaySlice()


def item_of(rec: ReplayRecord) -> ReplayItem:
    p = progress_of_record(rec)
    return ReplayItem(id=rec.id, consumer=rec.consumer, status=p.status, started_by=rec.started_by,
                      started_at=rec.started_at, finished_at=rec.finished_at, slice=_slice(rec.slice),
                      outcome=rec.outcome, progress=p)


def replay_event(key: str, value: bytes | None, revision: int | None, op: str | None) -> dict[str, Any] | None:
    """A ``replays`` bucket change as the feed's ``replay.progress`` (claims and dry runs are not sent)."""
    if not value:
        return None
    try:
        rec = msgspec.json.decode(value, type=ReplayRecord)
    except msgspec.DecodeError:
        return None
    if rec.status in ("starting", "dry-run"):
        return None
    return {"type": "replay.progress", **msgspec.to_builtins(progress_of_record(rec))}


class ReplayDesk:
    """Asks owners for replays and reads their records (KV first, PostgreSQL for old ones)."""

    def __init__(self, nc: NATS, js: JetStreamContext, topology: Topology, publisher: Publisher,
                 database_url: str, max_running: int) -> None:
        self.nc, self.js, self.topology, self.publisher = nc, js, topology, publisher
        self.database_url, self.max_running = database_url, max_running
        self._kv: KeyValue | None = None

    async def kv(self) -> KeyValue:
        if self._kv is None:
            self._kv = await replays_kv(self.js, self.topology)
        return self._kv

    async def submit(self, req: ReplayRequest, started_by: str) -> ReplayRecord:
        """Ask, then wait for the plan. ReplayError (a field at fault), ReplayBusy, NoOwner."""
        service = ask_.check_target(req)
        if not req.dry_run:
            running = await ask_.active_count(self.js, self.topology)
            if running >= self.max_running:
                raise ReplayBusy(f"{running} replays are running (at most {self.max_running}); "
                                 "wait for one to finish or stop it")
        rid = await ask_.ask(self.js, self.topology, self.publisher, req, started_by)
        kv = await self.kv() if not req.dry_run else await ask_.record_kv(self.js, self.topology, req)
        rec = await ask_.wait_record(kv, rid, ask_.planned, PLAN_WITHIN)
        if rec is None:
            raise ask_.NoOwner(f"no {service} replica took replay {rid} within {PLAN_WITHIN:.0f} s")
        if rec.status == "failed" and rec.outcome.get("field"):
            raise ReplayError(str(rec.outcome.get("error") or "refused"), str(rec.outcome["field"]))
        return rec

    async def get(self, replay_id: str) -> ReplayRecord | None:
        return await get_record(self.js, self.topology, replay_id, self.database_url)

    async def records(self, limit: int) -> list[ReplayRecord]:
        return await list_records(self.js, self.topology, self.database_url, limit)

    async def stop(self, rec: ReplayRecord) -> ReplayRecord:
        """Ask the replica running it to stop (nothing to do for one that ended); the record as now."""
        if ask_.is_active(rec, datetime.now(UTC)):
            await ask_.stop(self.nc, self.topology, rec.consumer.partition(":")[0], rec.id)
        return rec
