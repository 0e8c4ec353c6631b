"""Replaying a service's consumer over a stream slice: the engine the owning service runs.

``plan(rt, app, request)`` picks the ConsumerDef of a bootstrapped service and resolves and
counts the slice; ``execute(...)`` runs ``b9_common.replay.runner.replay`` over it with the
real handler (the live durable keeps consuming meanwhile; the replay reads through its own
ephemeral consumer) and records the replay (``b9_common.replay.log``). A running service
calls both through ``b9_common.replay.owner`` when it gets ``replay.requested.<service>``;
``run_replay(sdef, settings, request)`` connects and bootstraps a service itself for
programs that own the process (benchmarks, tests of the engine, ``b9 rebuild``'s checks).

Resuming: the handler is wrapped so that every sequence handed to it is tracked until it
settles. After a stop (Ctrl-C, ``stop`` event, idle), ``resume_from`` is the lowest sequence
started but not settled, else the one after the last settled: replaying from there with
the same filters misses nothing (handlers are idempotent, so a few repeats are harmless).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

from b9_common.replay.crew import Crew
from b9_common.replay.log import ReplayLog, ReplayRecord, new_record
from b9_common.replay.runner import ReplayReport, replay
from b9_common.replay.slices import Resolved, resolve
from b9_common.replay.wrap import Tracker, wrap_consumer
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, close_adapters, connect

log = logging.getLogger(__name__)

WORK_QUEUE_STREAMS = ("COMMANDS",)  # consumed messages are gone: nothing to replay


@dataclass
class ReplayRequest:
    target: str  # "<service>" or "<service>:<consumer>"
    stream: str | None = None
    subjects: tuple[str, ...] = ()
    from_seq: int | None = None
    to_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    rate: float | None = None
    dry_run: bool = False


@dataclass
class ReplayResult:
    consumer: str
    resolved: Resolved
    cdef: ConsumerDef | None = None
    report: ReplayReport | None = None
    record: ReplayRecord | None = None
    resume_from: int | None = None
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.report is None:
            return "dry-run"
        return "complete" if self.resume_from is None else "stopped"


class ReplayError(Exception):
    """A replay that cannot start: unknown service or consumer, bad filter.

    ``field`` names the request field at fault (consumer, stream, subject) for APIs."""

    def __init__(self, message: str, field: str = "consumer") -> None:
        super().__init__(message)
        self.field = field


class ReplayBusy(ReplayError):
    """Too many replays running (the gateway's GATEWAY_MAX_REPLAYS)."""


def split_target(target: str) -> tuple[str, str | None]:
    service, _, consumer = target.partition(":")
    return service.strip(), (consumer.strip() or None)


def load_service(name: str) -> ServiceDef:
    eps = {ep.name: ep for ep in entry_points(group="b9.services")}
    if name not in eps:
        raise ReplayError(f"unknown service {name!r}; installed: {', '.join(sorted(eps)) or 'none'}")
    sdef = eps[name].load()
    if not isinstance(sdef, ServiceDef):
        raise ReplayError(f"entry point {name!r} is not a ServiceDef")
    return sdef


def pick_consumer(app: App, service: str, consumer: str | None, stream: str | None) -> tuple[ConsumerDef, list[str]]:
    """The ConsumerDef to replay, plus notes on the other candidates."""
    everything = [f"{c.spec.name} ({c.spec.stream})" for c in app.consumers]
    cands = list(app.consumers)
    if consumer:
        cands = [c for c in cands if c.spec.name == consumer]
    if stream:
        cands = [c for c in cands if c.spec.stream == stream.upper()]
    else:
        cands = [c for c in cands if c.spec.stream not in WORK_QUEUE_STREAMS] or cands
    if not cands:
        raise ReplayError(f"{service} has no such consumer; it has: {', '.join(everything) or 'none'}",
                          "stream" if stream and not consumer else "consumer")
    if cands[0].spec.stream in WORK_QUEUE_STREAMS:
        raise ReplayError(f"{cands[0].spec.name} reads {cands[0].spec.stream}, a work queue: consumed messages "
                          "are gone and the live consumer owns the rest; there is nothing to replay",
                          "stream" if stream else "consumer")
    notes = [f"{service} also consumes {c.spec.stream} ({c.spec.name}): add --stream {c.spec.stream} for it"
             for c in cands[1:]]
    return cands[0], notes


def check_subjects(cdef: ConsumerDef, subjects: tuple[str, ...]) -> None:
    from b9_common.jetstream.dlq_admin import subject_matches

    own = cdef.spec.subjects
    for s in subjects:
        if not any(subject_matches(s, o) or subject_matches(o, s) for o in own):
            raise ReplayError(f"--subject {s!r} is not consumed by {cdef.spec.name} (it takes {', '.join(own)})",
                              "subject")


ProgressCb = Callable[[ReplayReport, int], None]
PlanCb = Callable[[Resolved, ConsumerDef], None]


async def plan(rt: Runtime, app: App, req: ReplayRequest) -> ReplayResult:
    """The consumer to replay and the resolved, counted slice (ReplayError: a request that cannot run)."""
    service, consumer = split_target(req.target)
    cdef, notes = pick_consumer(app, service, consumer, req.stream)
    subjects = tuple(req.subjects) or cdef.spec.subjects
    check_subjects(cdef, subjects)
    resolved = await resolve(rt, cdef.spec.stream, subjects, from_seq=req.from_seq, to_seq=req.to_seq,
                             since=req.since, until=req.until)
    return ReplayResult(consumer=f"{service}:{cdef.spec.name}", resolved=resolved, cdef=cdef, notes=notes)


async def run_replay(
    sdef: ServiceDef,
    settings: Any,
    req: ReplayRequest,
    *,
    database_url: str = "",
    on_plan: PlanCb | None = None,
    progress: ProgressCb | None = None,
    stop: asyncio.Event | None = None,
    started_by: str | None = None,
    record_id: str | None = None,
) -> ReplayResult:
    """Connect, bootstrap ``sdef`` (adapters only, no live consumer), plan, execute, close."""
    rt = await connect(settings, sdef.name, sdef.version, connect_timeout=10)
    try:
        app = await sdef.bootstrap(settings, rt)
        try:
            result = await plan(rt, app, req)
            assert result.cdef is not None
            if on_plan is not None:
                on_plan(result.resolved, result.cdef)
            if req.dry_run:
                return result
            resolved = result.resolved
            slice_info = {**resolved.describe(), "total": resolved.total, "rate": req.rate}
            journal = ReplayLog(rt.js, rt.topology, database_url)
            record = new_record(result.consumer, slice_info, started_by, id_=record_id)
            await journal.save(record)
            return await execute(rt, result.cdef, req, result, journal, record, progress=progress, stop=stop)
        finally:
            await close_adapters(app)
    finally:
        await rt.close()


async def execute(rt: Runtime, cdef: ConsumerDef, req: ReplayRequest, result: ReplayResult, journal: ReplayLog,
                  record: ReplayRecord, *, progress: ProgressCb | None = None,
                  stop: asyncio.Event | None = None, crew: Crew | None = None) -> ReplayResult:
    """Run the planned replay, settling ``record`` (already saved as running) with the outcome.

    With a ``crew`` (spawned workers of the service) they pull from the replay's consumer
    too (not for a paced replay: one process keeps the pace), and ``resume_from`` is read
    from the consumer's ack floor once every process stopped."""
    resolved = result.resolved
    result.record = record
    tracker = Tracker()
    t0 = time.perf_counter()
    total = resolved.total

    next_at = 0.0

    def on_progress(report: ReplayReport) -> None:
        # Called once per message: do the work at most 10 times a second (and once at the end).
        nonlocal next_at
        now = time.monotonic()
        if now < next_at and report.visited < total:
            return
        next_at = now + 0.1
        tracker.settle(report.seqs)
        report.seqs.clear()
        if progress is not None:
            progress(report, total)

    try:
        if total == 0:
            report = ReplayReport(complete=True, end_seq=resolved.end)
        else:
            wrapped = wrap_consumer(cdef, tracker, req.rate)
            idle = max(30.0, cdef.spec.ack_wait, 2 * wrapped.batch / req.rate if req.rate else 0.0)
            report = await replay(rt, wrapped, resolved.to_slice(), progress=on_progress, stop=stop,
                                  record_seqs=True, idle_timeout=idle, crew=None if req.rate else crew)
            tracker.settle(report.seqs)
            report.seqs.clear()
            if progress is not None:
                progress(report, total)
    except BaseException as exc:
        record.finished_at = datetime.now(UTC)
        record.outcome = {**record.outcome, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                          "resume_from": tracker.resume_from(resolved.start)}
        await asyncio.shield(journal.save(record))
        raise
    result.report = report
    result.elapsed = time.perf_counter() - t0
    resume = tracker.resume_from(resolved.start)
    if report.ack_floor is not None:  # several processes pulled: the server knows what is settled
        resume = max(resolved.start, report.ack_floor + 1)
    # Stopped, but only after everything up to the end had settled: that is complete too.
    result.resume_from = None if report.complete or resume > resolved.end else resume
    record.finished_at = datetime.now(UTC)
    record.outcome = {
        "status": result.status, "visited": report.visited, "handled": report.handled,
        "skipped": report.skipped, "dead_lettered": report.dead_lettered, "retried": report.retried,
        "total": total, "resume_from": result.resume_from, "seconds": round(result.elapsed, 3),
    }
    if report.by_process:  # several processes ran it: what each one visited (pid -> count)
        record.outcome["by_process"] = {str(pid): n for pid, n in report.by_process.items()}
    await journal.save(record)
    return result
