"""Replays run by the service that owns the consumer: ``replay.requested.<service>``.

A replayable service declares ``SERVICE = replayable(ServiceDef(...))``: its bootstrap then
adds a ``ReplayOwner`` to the App: a durable consumer ``<service>-replays`` on COMMANDS over
``replay.requested.<service>`` (replicas share it: one of them gets a given command), a loop
listening on ``b9.replay.stop.<service>`` and a closer that stops running replays first.
For each command:

1. claim: the replay's record is *created* in KV bucket ``replays`` under the replay id
   (``status: starting``, the runner: service, replica, host, pid). Only one create of a key
   succeeds, so a command delivered twice, published twice or taken by two replicas runs
   once; the loser acks and does nothing. A replica already running ``max_running`` replays
   naks the command (before claiming) so another replica, or this one later, takes it.
2. the command is acked; the replay runs as a task of this process over the live service's
   own ConsumerDefs, i.e. the same handler code and adapters as live traffic
   (``b9_common.replay.jobs.plan`` and ``execute``).
3. the record moves on: ``running`` with the slice, counts and progress (written at most
   every ``PROGRESS_EVERY`` s), then ``complete`` / ``stopped`` / ``failed`` with the reason,
   or ``dry-run`` with the plan (a dry run is claimed and answered in bucket
   ``replay_plans``: ``replays`` holds replays that ran). A request that cannot run (no such consumer, a work queue,
   a subject the consumer does not take, the stream missing) ends ``failed`` with ``error``
   and ``field`` (the request field at fault).

Several processes: with the service's ``REPLAY_WORKERS`` > 1 (a setting the service declares;
0 = one per core; without it: 1) the replica starts ``REPLAY_WORKERS - 1`` worker subprocesses
of the service when it claims a replay (``replay.crew``: they bootstrap while the slice is
counted) and they pull from the replay's consumer with it (``runner.replay(crew=...)``). The
record's ``runner`` keeps this replica's pid and lists the workers' (``workers``); the counts
are summed over the processes. Not for a paced replay (``--rate``): the replica runs it alone.

Stop: ``b9.replay.stop.<service>`` carrying a replay id sets that replay's stop event in the
replica running it (the others ignore it); the replay ends ``stopped`` with ``resume_from``.
At shutdown every running replay is stopped the same way before the adapters close.

``replays_only(sdef, settings)`` runs a replica that serves replays and nothing else (its
heartbeat, the ``<service>-replays`` consumer, the stop listener; no live durable): for a
replay worker kept off live traffic, for benchmarks, and for tests that must see what a
replay did alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from b9_common.errors import Retry
from b9_common.events.commands import ReplayRequested
from b9_common.events.envelope import Envelope
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.heartbeat import Heartbeat
from b9_common.replay.crew import Crew
from b9_common.replay.jobs import ReplayError, ReplayRequest, ReplayResult, execute, plan
from b9_common.replay.log import ReplayLog, ReplayRecord, new_record
from b9_common.replay.runner import ReplayReport
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, build_consumer, close_adapters, connect

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between two progress writes of one replay


def request_of(cmd: ReplayRequested, service: str) -> ReplayRequest:
    target = f"{service}:{cmd.consumer}" if cmd.consumer else service
    return ReplayRequest(target=target, stream=cmd.stream, subjects=tuple(cmd.subjects), from_seq=cmd.from_seq,
                         to_seq=cmd.to_seq, since=cmd.since, until=cmd.until, rate=cmd.rate, dry_run=cmd.dry_run)


@dataclass
class _Running:
    record: ReplayRecord
    journal: ReplayLog
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


def replay_workers(settings: Any) -> int:
    """Processes a replay runs in: the service's ``REPLAY_WORKERS`` (0: one per core; a service
    without that setting: 1, the replica alone)."""
    n = int(getattr(settings, "replay_workers", 1) or 0)
    if n > 0:
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ReplayOwner:
    def __init__(self, rt: Runtime, app: App, database_url: str = "", max_running: int = 2,
                 settings: Any = None) -> None:
        self.rt, self.app, self.max_running = rt, app, max_running
        self.settings = settings
        self.workers = replay_workers(settings) if settings is not None else 1
        self.journal = ReplayLog(rt.js, rt.topology, database_url)
        self.plans = ReplayLog(rt.js, rt.topology, plans=True)  # dry runs
        self.running: dict[str, _Running] = {}
        self.runner = {"service": rt.service, "replica": rt.replica, "host": socket.gethostname(),
                       "pid": os.getpid()}
        self._sub: Subscription | None = None

    def consumer(self) -> ConsumerDef:
        service = self.rt.service
        spec = ConsumerSpec(name=f"{service}-replays", stream="COMMANDS", subjects=(f"replay.requested.{service}",),
                            max_deliver=20, ack_wait=30.0, max_ack_pending=100,
                            description=f"replays of {service}'s consumers, run by a {service} replica")
        return ConsumerDef(spec=spec, handler=self.handle, concurrency=4)

    def attach(self, app: App) -> App:
        """``app`` plus the replay command consumer, the stop listener and the closer."""
        status = app.status

        def merged() -> dict[str, Any]:
            return {**(status() if status else {}), **self.status()}

        return App(consumers=[*app.consumers, self.consumer()], loops=[*app.loops, self.listen],
                   closers=[self.close, *app.closers], status=merged)

    async def listen(self) -> None:
        """The stop listener (a loop of the service: cancelled at shutdown)."""
        subject = self.rt.topology.replay_stop_subject(self.rt.service)
        try:
            self._sub = await self.rt.nc.subscribe(subject, cb=self._on_stop)
        except Exception:  # the service keeps running; its replays just cannot be stopped early
            log.exception("not listening on %s: replays run to their end", subject)
        try:
            await asyncio.Event().wait()
        finally:
            if self._sub is not None:
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()

    async def _on_stop(self, msg: Msg) -> None:
        job = self.running.get(msg.data.decode(errors="replace").strip())
        if job is not None:
            log.info("replay stop requested", extra={"replay": job.record.id})
            job.stop.set()

    async def handle(self, env: Envelope[ReplayRequested]) -> None:
        cmd = env.data
        if len(self.running) >= self.max_running:
            raise Retry(f"{len(self.running)} replays running in {self.rt.replica} (at most {self.max_running})",
                        delay=2.0)
        req = request_of(cmd, self.rt.service)
        record = new_record(req.target, _requested_slice(req), cmd.requested_by, id_=cmd.replay_id)
        record.outcome = {"status": "starting"}
        record.runner = dict(self.runner)
        journal = self.plans if req.dry_run else self.journal
        try:
            claimed = await journal.claim(record)
        except Exception as exc:  # KV unreachable: the command comes back
            raise Retry(f"replay {cmd.replay_id} not claimed: {exc}") from exc
        if not claimed:
            log.info("replay already claimed: command acked, nothing run", extra={"replay": cmd.replay_id})
            return
        job = _Running(record, journal)
        self.running[record.id] = job
        job.task = asyncio.create_task(self._run(req, job), name=f"replay:{record.id}")

    async def _run(self, req: ReplayRequest, job: _Running) -> None:
        record = job.record
        try:
            result = await self._plan_and_run(req, job)
            if result is not None and result.report is not None:
                log.info("replay ended", extra={"replay": record.id, "status": result.status})
        except ReplayError as exc:
            await self._fail(job, str(exc), exc.field)
        except Exception as exc:  # the handler, the stream or the bus failed: the record says why
            log.exception("replay failed", extra={"replay": record.id})
            if record.finished_at is None:
                await self._fail(job, f"{type(exc).__name__}: {exc}", "")
        finally:
            self.running.pop(record.id, None)

    async def _plan_and_run(self, req: ReplayRequest, job: _Running) -> ReplayResult | None:
        crew = None
        if self.workers > 1 and not req.dry_run and not req.rate:
            # started now: they bootstrap while the slice is resolved and counted
            crew = Crew(self.rt.service, self.settings, self.workers - 1, self.rt.replica)
            try:
                await crew.spawn()
                job.record.runner["workers"] = crew.pids
            except Exception:
                log.exception("replay workers not started: the replica runs it alone")
                await crew.stop(5.0)
                crew = None
        try:
            return await self._run_planned(req, job, crew)
        finally:
            if crew is not None:
                await crew.stop(5.0)  # already stopped unless the replay did not get that far

    async def _run_planned(self, req: ReplayRequest, job: _Running, crew: Crew | None) -> ReplayResult | None:
        record = job.record
        try:
            result = await plan(self.rt, self.app, req)
        except ReplayError:
            raise
        except Exception as exc:
            stream = req.stream or "its stream"
            raise ReplayError(f"the slice of {stream} could not be resolved: {type(exc).__name__}: {exc}",
                              "stream") from exc
        res = result.resolved
        record.consumer = result.consumer
        record.slice = {**res.describe(), "total": res.total, "rate": req.rate, "counts": dict(res.counts)}
        if req.dry_run:
            record.finished_at = datetime.now(UTC)
            record.outcome = {"status": "dry-run", "total": res.total, "notes": result.notes}
            await job.journal.save(record)
            return result
        record.outcome = {"status": "running", "total": res.total, "visited": 0, "handled": 0, "skipped": 0,
                          "dead_lettered": 0, "retried": 0, "seconds": 0.0, "notes": result.notes}
        await self.journal.save(record)
        progress = _Progress(self.journal, record)
        assert result.cdef is not None  # plan() sets it
        try:
            return await execute(self.rt, result.cdef, req, result, self.journal, record,
                                 progress=progress.update, stop=job.stop, crew=crew)
        finally:
            await progress.flush()

    async def _fail(self, job: _Running, reason: str, field_: str) -> None:
        record = job.record
        record.finished_at = datetime.now(UTC)
        record.outcome = {**record.outcome, "status": "failed", "error": reason, "field": field_}
        await asyncio.shield(job.journal.save(record))

    async def close(self, grace: float = 20.0) -> None:
        """Stop every running replay (each records where to resume), then the stop subscription."""
        for job in self.running.values():
            job.stop.set()
        tasks = [j.task for j in self.running.values() if j.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for t in late:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def status(self) -> dict[str, Any]:
        return {"replays_running": len(self.running)}


def replayable(sdef: ServiceDef) -> ServiceDef:
    """``sdef`` whose bootstrap attaches a ReplayOwner (records go to its DATABASE_URL too, if any)."""
    inner = sdef.bootstrap

    async def bootstrap(settings: Any, rt: Runtime) -> App:
        app = await inner(settings, rt)
        return ReplayOwner(rt, app, getattr(settings, "database_url", "") or "", settings=settings).attach(app)

    return dataclasses.replace(sdef, bootstrap=bootstrap)


@contextlib.asynccontextmanager
async def replays_only(sdef: ServiceDef, settings: Any) -> AsyncIterator[None]:
    """A replica of a ``replayable`` service that runs replays only, for the ``async with`` block."""
    rt = await connect(settings, sdef.name, sdef.version, connect_timeout=10)
    try:
        app = await sdef.bootstrap(settings, rt)
        owner = [c for c in app.consumers if c.spec.name == f"{sdef.name}-replays"]
        if not owner:
            await close_adapters(app)
            raise ValueError(f"{sdef.name} is not replayable: no {sdef.name}-replays consumer")
        heartbeat = Heartbeat(rt, sdef.version, app.status)
        await heartbeat.start()
        consumer = build_consumer(rt, owner[0])
        await consumer.start()
        listen = [asyncio.ensure_future(fn()) for fn in app.loops if getattr(fn, "__name__", "") == "listen"]
        try:
            yield
        finally:
            await consumer.stop(5.0)
            await close_adapters(app)  # the owner's closer first: running replays stop and record
            for t in listen:
                t.cancel()
            await asyncio.gather(*listen, return_exceptions=True)
            await heartbeat.stop()
    finally:
        await rt.close()


def _requested_slice(req: ReplayRequest) -> dict[str, Any]:
    return {"stream": req.stream, "subjects": list(req.subjects), "from_seq": req.from_seq, "to_seq": req.to_seq,
            "since": req.since.isoformat() if req.since else None,
            "until": req.until.isoformat() if req.until else None, "rate": req.rate}


class _Progress:
    """The running record's counts, written to KV at most every PROGRESS_EVERY s (one write in flight)."""

    def __init__(self, journal: ReplayLog, record: ReplayRecord) -> None:
        self.journal, self.record = journal, record
        self.t0 = asyncio.get_running_loop().time()
        self.next_at = 0.0
        self.pending: asyncio.Task[None] | None = None

    def update(self, report: ReplayReport, total: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.record.finished_at is not None or now < self.next_at or (self.pending and not self.pending.done()):
            return
        self.next_at = now + PROGRESS_EVERY
        self.record.outcome = {**self.record.outcome, "visited": report.visited, "handled": report.handled,
                               "skipped": report.skipped, "dead_lettered": report.dead_lettered,
                               "retried": report.retried, "total": total, "seconds": round(now - self.t0, 3)}
        self.pending = asyncio.ensure_future(self.journal.save(self.record, kv_only=True))

    async def flush(self) -> None:
        if self.pending is not None:
            with contextlib.suppress(Exception):
                await self.pending
