"""Replaying a service's consumer over a stream slice, for the CLI and the gateway.

``run_replay(sdef, settings, request, ...)`` connects, bootstraps the service (its adapters
only: no live consumer is started; the live durable keeps consuming meanwhile, the replay
reads through its own ephemeral consumer), picks the ConsumerDef, resolves and counts the
slice, runs ``b9_common.replay.runner.replay`` over it with the real handler, records the replay
(``b9_common.replay.log``) and calls the App's closers.

Resuming: the handler is wrapped so that every sequence handed to it is tracked until it
settles. After a stop (Ctrl-C, ``stop`` event, idle), ``resume_from`` is the lowest sequence
started but not settled, else the one after the last settled: replaying from there with
the same filters misses nothing (handlers are idempotent, so a few repeats are harmless).

``ReplayJobs`` runs replays as asyncio tasks inside a long-lived process (the gateway's
admin API can start one, poll its progress and stop it).
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

from b9_common.replay.log import ReplayLog, ReplayRecord, new_record
from b9_common.replay.runner import ReplayReport, replay
from b9_common.replay.slices import Resolved, resolve
from b9_common.replay.wrap import Tracker, wrap_consumer
from b9_common.service import App, ConsumerDef, ServiceDef, close_adapters, connect

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
    """Too many replays running in this process (``ReplayJobs(max_running=...)``)."""


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


def _check_subjects(cdef: ConsumerDef, subjects: tuple[str, ...]) -> None:
    from b9_common.jetstream.dlq_admin import subject_matches

    own = cdef.spec.subjects
    for s in subjects:
        if not any(subject_matches(s, o) or subject_matches(o, s) for o in own):
            raise ReplayError(f"--subject {s!r} is not consumed by {cdef.spec.name} (it takes {', '.join(own)})",
                              "subject")


ProgressCb = Callable[[ReplayReport, int], None]
PlanCb = Callable[[Resolved, ConsumerDef], None]


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
    service, consumer = split_target(req.target)
    rt = await connect(settings, sdef.name, sdef.version, connect_timeout=10)
    try:
        app = await sdef.bootstrap(settings, rt)
        try:
            cdef, notes = pick_consumer(app, service, consumer, req.stream)
            subjects = tuple(req.subjects) or cdef.spec.subjects
            _check_subjects(cdef, subjects)
            resolved = await resolve(rt, cdef.spec.stream, subjects, from_seq=req.from_seq, to_seq=req.to_seq,
                                     since=req.since, until=req.until)
            if on_plan is not None:
                on_plan(resolved, cdef)
            result = ReplayResult(consumer=f"{service}:{cdef.spec.name}", resolved=resolved, notes=notes)
            if req.dry_run:
                return result
            return await _execute(rt, cdef, req, result, database_url, progress, stop, started_by, record_id)
        finally:
            await close_adapters(app)
    finally:
        await rt.close()


async def _execute(rt: Any, cdef: ConsumerDef, req: ReplayRequest, result: ReplayResult, database_url: str,
                   progress: ProgressCb | None, stop: asyncio.Event | None, started_by: str | None,
                   record_id: str | None = None) -> ReplayResult:
    resolved = result.resolved
    slice_info = {**resolved.describe(), "total": resolved.total, "rate": req.rate}
    journal = ReplayLog(rt.js, rt.topology, database_url)
    record = new_record(result.consumer, slice_info, started_by, id_=record_id)
    result.record = record
    await journal.save(record)
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
                                  record_seqs=True, idle_timeout=idle)
            tracker.settle(report.seqs)
            report.seqs.clear()
            if progress is not None:
                progress(report, total)
    except BaseException as exc:
        record.finished_at = datetime.now(UTC)
        record.outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                          "resume_from": tracker.resume_from(resolved.start)}
        await asyncio.shield(journal.save(record))
        raise
    result.report = report
    result.elapsed = time.perf_counter() - t0
    resume = tracker.resume_from(resolved.start)
    # Stopped, but only after everything up to the end had settled: that is complete too.
    result.resume_from = None if report.complete or resume > resolved.end else resume
    record.finished_at = datetime.now(UTC)
    record.outcome = {
        "status": result.status, "visited": report.visited, "handled": report.handled,
        "skipped": report.skipped, "dead_lettered": report.dead_lettered, "retried": report.retried,
        "total": total, "resume_from": result.resume_from, "seconds": round(result.elapsed, 3),
    }
    await journal.save(record)
    return result


@dataclass
class Job:
    id: str
    request: ReplayRequest
    status: str = "starting"  # starting | running | complete | stopped | failed | dry-run
    total: int = 0
    report: ReplayReport | None = None
    result: ReplayResult | None = None
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    started_by: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    consumer: str = ""  # "<service>:<consumer>" once planned
    plan: Resolved | None = None
    planned: asyncio.Event = field(default_factory=asyncio.Event)  # set once planned, or failed before
    exc: BaseException | None = None
    running_since: float | None = None  # when the slice was resolved (rate and ETA count from there)
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    def snapshot(self) -> dict[str, Any]:
        r = self.report
        t0 = self.running_since or self.started
        elapsed = (self.finished or time.monotonic()) - t0
        visited = r.visited if r else 0
        rate = visited / elapsed if elapsed > 0 and self.running_since else 0.0
        plan = self.plan
        return {
            "id": self.id, "target": self.request.target, "status": self.status, "total": self.total,
            "visited": visited, "handled": r.handled if r else 0, "skipped": r.skipped if r else 0,
            "dead_lettered": r.dead_lettered if r else 0, "retried": r.retried if r else 0,
            "rate": round(rate, 1),
            "eta_seconds": round((self.total - visited) / rate, 1) if rate and self.active else None,
            "resume_from": self.result.resume_from if self.result else None, "error": self.error,
            "record_id": self.result.record.id if self.result and self.result.record else None,
            "consumer": self.consumer or self.request.target, "started_by": self.started_by,
            "started_at": self.started_at.isoformat(), "elapsed_seconds": round(max(0.0, elapsed), 3),
            "dry_run": self.request.dry_run, "rate_limit": self.request.rate,
            "slice": {**plan.describe(), "counts": dict(plan.counts)} if plan else None,
        }


class ReplayJobs:
    """In-process replays for a long-lived process (the gateway's admin API).

    ``settings_for(sdef)`` returns the settings to bootstrap a service with (by default
    ``load_settings(sdef.settings_cls)``, i.e. the process environment). ``max_running``
    bounds concurrent replays (``start`` raises ReplayBusy beyond it); ``on_update(job)`` is
    called when a job is planned, makes progress (at most ~10 times a second) and ends. The
    job id is also the id of its record (``replay.log``). The newest ``keep`` finished jobs
    stay in memory.
    """

    def __init__(self, settings_for: Callable[[ServiceDef], Any] | None = None, database_url: str = "", *,
                 max_running: int | None = None, on_update: Callable[[Job], None] | None = None,
                 keep: int = 50) -> None:
        self.settings_for = settings_for or _env_settings
        self.database_url = database_url
        self.max_running = max_running
        self.on_update = on_update
        self.keep = keep
        self.jobs: dict[str, Job] = {}

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.active]

    def _notify(self, job: Job) -> None:
        if self.on_update is not None:
            try:
                self.on_update(job)
            except Exception:
                log.exception("replay update callback failed")

    def start(self, req: ReplayRequest, started_by: str | None = None) -> Job:
        if self.max_running is not None and len(self.running()) >= self.max_running:
            raise ReplayBusy(f"{len(self.running())} replays are running (at most {self.max_running}); "
                             "wait for one to finish or stop it")
        sdef = load_service(split_target(req.target)[0])
        settings = self.settings_for(sdef)
        from ulid import ULID

        job = Job(id=str(ULID()), request=req, started_by=started_by or "")

        def plan(res: Resolved, cdef: ConsumerDef) -> None:
            job.total, job.status, job.plan = res.total, "running", res
            job.consumer = f"{sdef.name}:{cdef.spec.name}"
            job.running_since = time.monotonic()
            job.planned.set()
            self._notify(job)

        def prog(report: ReplayReport, total: int) -> None:
            job.report = report
            self._notify(job)

        async def body() -> None:
            try:
                job.result = await run_replay(sdef, settings, req, database_url=self.database_url, on_plan=plan,
                                              progress=prog, stop=job.stop, started_by=started_by,
                                              record_id=job.id)
                job.report = job.result.report or job.report
                job.status = job.result.status
            except Exception as exc:
                job.status, job.error, job.exc = "failed", f"{type(exc).__name__}: {exc}", exc
            finally:
                job.finished = time.monotonic()
                job.planned.set()
                self._notify(job)

        job.task = asyncio.create_task(body(), name=f"replay:{job.id}")
        self.jobs[job.id] = job
        self._prune()
        return job

    async def submit(self, req: ReplayRequest, started_by: str | None = None) -> Job:
        """``start``, then wait until the slice is resolved: a request that cannot run
        (unknown consumer, work queue, subject not consumed) raises ReplayError here and
        leaves no job behind. A dry run is waited for to the end."""
        job = self.start(req, started_by)
        await job.planned.wait()
        if isinstance(job.exc, ReplayError):
            self.jobs.pop(job.id, None)
            raise job.exc
        if req.dry_run and job.task is not None:
            await asyncio.shield(job.task)
            self.jobs.pop(job.id, None)
        return job

    def _prune(self) -> None:
        done = [j for j in self.jobs.values() if not j.active]
        for j in done[: max(0, len(done) - self.keep)]:
            del self.jobs[j.id]

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def stop(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None:
            return False
        job.stop.set()
        return True

    async def close(self) -> None:
        for job in self.jobs.values():
            job.stop.set()
        await asyncio.gather(*(j.task for j in self.jobs.values() if j.task), return_exceptions=True)


def _env_settings(sdef: ServiceDef) -> Any:
    from b9_common.settings import load_settings

    return load_settings(sdef.settings_cls)
