"""Replay: run a consumer's handler over a slice of a stream through an ephemeral consumer.

The slice starts at a sequence or a time and ends at a sequence, a time, or the stream's
last message when the replay began (so live traffic arriving meanwhile is not chased).
An optional subject filter narrows it. The same handler code as live traffic runs; the
runtime maps its errors as usual (DLQ included). Progress is reported through a callback.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from b9_common.events.envelope import Envelope, new_id
from b9_common.jetstream.consumer import Handler
from b9_common.jetstream.delivery import parse_ack_subject
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.crew import Crew
from b9_common.replay.share import COUNTS, ReplayReport, Share
from b9_common.service import ConsumerDef, Runtime

log = logging.getLogger(__name__)


@dataclass
class Slice:
    stream: str
    subjects: tuple[str, ...] = ()
    from_seq: int | None = None
    to_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None


Progress = Callable[[ReplayReport], None]
READY_WITHIN = 30.0  # seconds a replay waits for its worker subprocesses to bootstrap
__all__ = ["Progress", "ReplayReport", "Slice", "replay", "seq_at_time"]


async def replay(
    rt: Runtime,
    cdef: ConsumerDef,
    slice_: Slice,
    *,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    record_seqs: bool = False,
    rate: float | None = None,
    idle_timeout: float = 10.0,
    crew: Crew | None = None,
) -> ReplayReport:
    """Run ``cdef``'s handler over ``slice_``; returns when the slice is done or ``stop`` is set.

    With a ``crew`` (spawned worker subprocesses of the service), they pull from the replay's
    consumer too; the report's counts are then the sum over every process, the end is decided
    by the server's view of the consumer (nothing pending, nothing unacknowledged), and
    ``ack_floor`` says what is settled once they all stopped."""
    stream = rt.topology.stream(slice_.stream)
    info = await rt.js.stream_info(stream)
    last = info.state.last_seq
    end_seq = min(slice_.to_seq, last) if slice_.to_seq else last
    subjects = slice_.subjects or cdef.spec.subjects
    name = f"replay-{cdef.spec.name}-{new_id().lower()}"
    start = slice_.from_seq or 1
    if slice_.since is not None and not slice_.from_seq:
        start = await seq_at_time(rt, stream, slice_.since, last)
    spec = ConsumerSpec(
        name=name, stream=slice_.stream, subjects=tuple(subjects), max_deliver=cdef.spec.max_deliver,
        ack_wait=cdef.spec.ack_wait, start_seq=start, inactive_threshold=60.0,
    )
    await rt.topology.ensure_consumer(rt.js, spec)
    cinfo = await rt.js.consumer_info(stream, name)
    total = cinfo.num_pending
    stop = stop or asyncio.Event()
    until_ns = int(slice_.until.timestamp() * 1e9) if slice_.until else None

    handler = cdef.handler
    if rate and handler is not None:
        handler = _rate_limited(handler, rate)
    paced = ConsumerDef(spec=spec, handler=handler, batch_handler=cdef.batch_handler if not handler else None,
                        batch=cdef.batch, concurrency=cdef.concurrency if not rate else 1,
                        batch_concurrency=cdef.batch_concurrency)
    share = Share(rt, paced, spec, end_seq, until_ns, record_seqs=record_seqs,
                  progress=progress if crew is None else None)
    report = share.report
    report.total = total
    if total == 0:
        report.complete = True
        await rt.js.delete_consumer(stream, name)
        return report
    if crew is not None:
        # Spawned when the replay was claimed, they bootstrapped while the slice was counted: wait for
        # the rest of that (bounded) so that every process takes part from the first message.
        try:
            await crew.ready(READY_WITHIN)
        except TimeoutError:
            log.warning("replay workers not ready in %ss: they join when they are", READY_WITHIN)
        crew.attach(spec, cdef.spec.name, end_seq, until_ns)
    await share.consumer.start()
    try:
        if crew is None:
            await _alone(share, stop, idle_timeout)
        else:
            await _together(rt, stream, share, crew, stop, idle_timeout + spec.ack_wait, progress)
        stopped = stop.is_set()
        # Let in-flight messages of the slice settle before the consumer goes away.
        # (the workers' exit is awaited by the crew's owner: their acks are out once they drained)
        await asyncio.gather(share.consumer.stop(grace=30), *([crew.stop(30, wait_exit=False)] if crew else []))
        if crew is None:
            report.complete = share.past_end.is_set() and not share.holding and not stopped
        else:
            done = await _settled(rt, stream, name, end_seq)
            report.complete = done is not None and not stopped
            report.ack_floor = done if done is not None else await _ack_floor(rt, stream, name)
            _merge(report, share.report, crew)
    finally:
        try:
            await rt.js.delete_consumer(stream, name)
        except Exception:
            pass
    return report


async def _alone(share: Share, stop: asyncio.Event, idle_timeout: float) -> None:
    """One process: the end is reached when it saw the end and settled everything it took."""
    report = share.report
    stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait())
    finisher: asyncio.Task[Any] = asyncio.create_task(share.past_end.wait())
    loop = asyncio.get_running_loop()
    moved_at, before = loop.time(), report.visited + report.retried
    try:
        while True:
            await asyncio.wait([stopper, finisher], timeout=idle_timeout, return_when=asyncio.FIRST_COMPLETED)
            done = share.past_end.is_set()
            if stop.is_set() or (done and not share.holding):
                return
            if done:  # past the end, messages still in flight or to be retried: poll until settled
                finisher = asyncio.create_task(asyncio.sleep(0.2))
            if report.visited + report.retried != before:
                moved_at, before = loop.time(), report.visited + report.retried
            elif loop.time() - moved_at >= idle_timeout:  # not 0.2 s: a retry's delay is longer
                log.warning("replay idle for %ss; ending", idle_timeout)
                return
    finally:
        stopper.cancel()
        finisher.cancel()


async def _together(rt: Runtime, stream: str, share: Share, crew: Crew, stop: asyncio.Event,
                    idle_timeout: float, progress: Progress | None) -> None:
    """Several processes: the end is reached when the server holds nothing pending or unacknowledged
    (asked once any process saw the end, and every second anyway). Progress: ten times a second."""
    name, end_seq = share.consumer.spec.name, share.report.end_seq
    nudge = asyncio.Event()
    crew.on_end = nudge.set
    merged = ReplayReport(total=share.report.total, end_seq=end_seq, seqs=share.report.seqs)
    loop = asyncio.get_running_loop()
    moved_at, before, asked_at = loop.time(), -1, loop.time()
    stopper = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            ended = share.past_end.is_set() or crew.past_end
            waiters = [asyncio.ensure_future(nudge.wait()), asyncio.ensure_future(share.past_end.wait())]
            await asyncio.wait([stopper, *waiters], timeout=0.02 if ended else 0.1,
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            nudge.clear()
            _merge(merged, share.report, crew)
            if progress is not None:
                progress(merged)
            now = loop.time()
            ended = share.past_end.is_set() or crew.past_end
            if (ended or now - asked_at >= 1.0) and not stop.is_set():
                asked_at = now
                if await _settled(rt, stream, name, end_seq) is not None:
                    return
            moved = merged.visited + merged.retried
            if moved != before:
                moved_at, before = now, moved
            elif now - moved_at >= idle_timeout:
                log.warning("replay idle for %ss; ending", idle_timeout)
                return
    finally:
        stopper.cancel()


async def _settled(rt: Runtime, stream: str, name: str, end_seq: int) -> int | None:
    """The consumer's ack floor once everything of the slice is acknowledged, else None.

    The pullers acknowledge what lies past the end unhandled (the gate), so the floor passes
    ``end_seq`` as soon as everything up to it is settled, while they may still hold messages
    past the end (they are handed back when the pullers stop); with nothing past the end, the
    slice is settled when nothing is pending or unacknowledged."""
    try:
        info = await rt.js.consumer_info(stream, name)
    except Exception as exc:  # asked again in a moment
        log.warning("replay consumer's state unknown: %s", exc)
        return None
    floor = int(info.ack_floor.stream_seq or 0)
    if floor >= end_seq or (not info.num_ack_pending and not info.num_pending):
        return floor
    return None


async def _ack_floor(rt: Runtime, stream: str, name: str) -> int | None:
    try:
        return int((await rt.js.consumer_info(stream, name)).ack_floor.stream_seq or 0)
    except Exception as exc:
        log.warning("replay consumer's ack floor unknown: %s", exc)
        return None


def _merge(into: ReplayReport, local: ReplayReport, crew: Crew) -> None:
    """``into``'s counts: this process's plus the workers' last reports, never more than the slice."""
    others = crew.counts()
    into.by_process = {os.getpid(): local.visited, **crew.visited()}
    for k in COUNTS:
        setattr(into, k, getattr(local, k) + others[k])
    if into.total:
        into.visited = min(into.visited, into.total)
        into.handled = min(into.handled, into.visited)
    into.last_seq = local.last_seq
    into.workers = crew.pids


async def seq_at_time(rt: Runtime, stream: str, when: datetime, last_seq: int) -> int:
    """The first stream sequence stored at or after ``when`` (``last_seq + 1`` if none).

    Found with an unfiltered probe consumer started by time: the server's by-start-time
    lookup combined with several filter subjects is not reliable, a plain one is.
    """
    name = f"probe-{new_id().lower()}"
    cfg = ConsumerConfig(name=name, deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=when,
                         ack_policy=AckPolicy.EXPLICIT, inactive_threshold=10.0, mem_storage=True)
    await rt.js.add_consumer(stream, cfg)
    inbox = rt.nc.new_inbox()
    sub = await rt.nc.subscribe(inbox)
    try:
        await rt.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}",
                            b'{"batch": 1, "no_wait": true}', reply=inbox)
        msg = await sub.next_msg(timeout=5)
        meta = parse_ack_subject(msg.reply or "")
        return meta.stream_seq if meta else last_seq + 1
    finally:
        await sub.unsubscribe()
        try:
            await rt.js.delete_consumer(stream, name)
        except Exception:
            pass


def _rate_limited(handler: Handler, rate: float) -> Handler:
    interval = 1.0 / rate
    lock = asyncio.Lock()
    next_at = 0.0

    async def paced(env: Envelope[Any]) -> None:
        nonlocal next_at
        async with lock:
            loop = asyncio.get_running_loop()
            wait = next_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            next_at = max(loop.time(), next_at) + interval
        await handler(env)

    return paced
