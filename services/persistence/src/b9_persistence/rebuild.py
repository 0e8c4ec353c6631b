"""Rebuilding the read model from the streams alone into another database.

``await rebuild(settings, target_url)`` bootstraps persistence exactly as the service does
(migrations, pool, its consumer definitions) against ``target_url``, then, for every stream
persistence consumes (its own ``App.consumers``, work queues aside), runs the real batch
handler from the stream's first message to its last sequence at the start through an
ephemeral consumer (``b9_common.replay.runner.replay``), all streams side by side. Live traffic
arriving meanwhile is not chased, and the live durable consumers are not touched.

Facts the handler refuses are *not* dead-lettered again (the live run already did): the
runtime's DLQ copies go to ``Refused``, which records them for the report instead of
publishing. A stream that stops advancing for ``stall`` seconds while messages keep being
retried (e.g. a decision about an entity no fact ever created) is stopped and reported
incomplete rather than retried for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import msgspec
from b9_common.jetstream.dlq import ORIGINAL_SEQ, ORIGINAL_STREAM, ORIGINAL_SUBJECT, REASON
from b9_common.jetstream.publisher import Publisher
from b9_common.replay.jobs import WORK_QUEUE_STREAMS
from b9_common.replay.runner import ReplayReport, replay
from b9_common.replay.slices import Resolved, resolve
from b9_common.service import ConsumerDef, Runtime, close_adapters, connect

from b9_persistence import __version__
from b9_persistence.main import SERVICE
from b9_persistence.rebuild_compare import NOT_FROM_STREAMS
from b9_persistence.settings import Settings

log = logging.getLogger(__name__)


class RebuildError(Exception):
    """The rebuild cannot run: target not empty, database unreachable."""


@dataclass
class RefusedFact:
    stream: str
    seq: int
    subject: str
    reason: str


class Refused(Publisher):
    """The runtime's publisher for a rebuild: DLQ copies are recorded, not published."""

    def __init__(self, real: Publisher) -> None:
        super().__init__(real.js, real.topology, real.source, timeout=real.timeout, window=real.window)
        self.facts: list[RefusedFact] = []

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        self.facts.append(RefusedFact(headers.get(ORIGINAL_STREAM, ""), int(headers.get(ORIGINAL_SEQ, "0")),
                                      headers.get(ORIGINAL_SUBJECT, subject), headers.get(REASON, "")))


@dataclass
class StreamRun:
    stream: str
    consumer: ConsumerDef
    plan: Resolved
    report: ReplayReport = field(default_factory=ReplayReport)
    stalled: bool = False
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.plan.total


@dataclass
class RebuildReport:
    runs: list[StreamRun]
    refused: list[RefusedFact]
    seconds: float

    @property
    def visited(self) -> int:
        return sum(r.report.visited for r in self.runs)

    @property
    def complete(self) -> bool:
        return all(r.report.complete or (r.total == 0) for r in self.runs)


Progress = Callable[[StreamRun], None]
Plan = Callable[[list[StreamRun]], None]


def with_database(url: str, db: str) -> str:
    """``url`` with its database name replaced (query parameters such as ``?host=`` kept)."""
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{db}" + (f"?{query}" if query else "")


def database_of(url: str) -> str:
    return url.partition("?")[0].rpartition("/")[2]


async def create_database(url: str) -> None:
    """Create the database ``url`` names, through the server's ``postgres`` database."""
    admin = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{database_of(url)}"')
    finally:
        await admin.close()


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_of(url)}" WITH (FORCE)')
    finally:
        await admin.close()


async def prepare_target(url: str) -> None:
    """Create the target database when missing; refuse one that holds any read-model row."""
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        await create_database(url)
        return
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')")
        for r in tables:
            name = r["relname"]
            if name in NOT_FROM_STREAMS:
                continue
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{name}")'):
                raise RebuildError(f"the target database {database_of(url)!r} is not empty (table {name} has rows); "
                                   "rebuild only into an empty database")
    finally:
        await conn.close()


async def rebuild(settings: Settings, target_url: str, *, on_plan: Plan | None = None,
                  progress: Progress | None = None, stop: asyncio.Event | None = None,
                  stall: float = 120.0) -> RebuildReport:
    """Rebuild the read model into ``target_url`` (which ``prepare_target`` has checked)."""
    target = msgspec.structs.replace(settings, database_url=target_url)
    stop = stop or asyncio.Event()
    rt = await connect(target, "rebuild", __version__, connect_timeout=10)
    refused = Refused(rt.publisher)
    rrt = Runtime(nc=rt.nc, js=rt.js, topology=rt.topology, publisher=refused,
                  service="rebuild", replica=rt.replica)
    t0 = time.perf_counter()
    try:
        app = await SERVICE.bootstrap(target, rrt)
        try:
            runs = []
            for cdef in app.consumers:
                if cdef.spec.stream in WORK_QUEUE_STREAMS:
                    continue
                plan = await resolve(rrt, cdef.spec.stream, cdef.spec.subjects)
                runs.append(StreamRun(cdef.spec.stream, cdef, plan))
            if on_plan is not None:
                on_plan(runs)
            stops = [asyncio.Event() for _ in runs]
            watcher = asyncio.create_task(_watch(runs, stops, stop, stall))
            try:
                await asyncio.gather(*(_run(rrt, run, e, progress, stall) for run, e in zip(runs, stops, strict=True)))
            finally:
                watcher.cancel()
        finally:
            await close_adapters(app)
    finally:
        await rt.close()
    return RebuildReport(runs, refused.facts, time.perf_counter() - t0)


async def _watch(runs: list[StreamRun], stops: list[asyncio.Event], stop: asyncio.Event, stall: float) -> None:
    """Stop every unfinished stream when ``stop`` is set, or when no stream has advanced for
    ``stall`` seconds (a stream waiting for another one, e.g. decisions for facts still being
    rebuilt, is not stalled while the other one advances)."""
    seen, since = -1, time.monotonic()
    while not all(e.is_set() for e in stops):
        await asyncio.sleep(1.0)
        visited = sum(r.report.visited for r in runs)
        if stop.is_set():
            for e in stops:
                e.set()
        elif visited != seen:
            seen, since = visited, time.monotonic()
        elif time.monotonic() - since > stall:
            for run, e in zip(runs, stops, strict=True):
                if not e.is_set():
                    log.warning("%s: no progress for %.0f s (%d retried); stopping", run.stream, stall,
                                run.report.retried)
                    run.stalled = True
                    e.set()


async def _run(rt: Runtime, run: StreamRun, mine: asyncio.Event, progress: Progress | None,
               stall: float) -> None:
    try:
        if run.plan.start > run.plan.end or run.total == 0:
            run.report.complete = True
            return
        next_at = 0.0

        def on_progress(report: ReplayReport) -> None:
            nonlocal next_at
            run.report = report
            now = time.monotonic()
            if progress is not None and (now >= next_at or report.visited >= run.total):
                next_at = now + 0.1
                progress(run)

        t0 = time.perf_counter()
        try:
            run.report = await replay(rt, run.consumer, run.plan.to_slice(), progress=on_progress, stop=mine,
                                      idle_timeout=max(stall, run.consumer.spec.ack_wait))
        finally:
            run.seconds = time.perf_counter() - t0
        if progress is not None:
            progress(run)
    finally:
        mine.set()
