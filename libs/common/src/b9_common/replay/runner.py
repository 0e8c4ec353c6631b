"""Replay: run a consumer's handler over a slice of a stream through an ephemeral consumer.

The slice starts at a sequence or a time and ends at a sequence, a time, or the stream's
last message when the replay began (so live traffic arriving meanwhile is not chased).
An optional subject filter narrows it. The same handler code as live traffic runs; the
runtime maps its errors as usual (DLQ included). Progress is reported through a callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from b9_common.events.envelope import Envelope, new_id
from b9_common.jetstream.consumer import Consumer, Handler
from b9_common.jetstream.delivery import Delivery, parse_ack_subject
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import ConsumerDef, Runtime, build_consumer

log = logging.getLogger(__name__)


@dataclass
class Slice:
    stream: str
    subjects: tuple[str, ...] = ()
    from_seq: int | None = None
    to_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ReplayReport:
    total: int = 0
    visited: int = 0
    handled: int = 0
    skipped: int = 0
    retried: int = 0
    dead_lettered: int = 0
    last_seq: int = 0
    end_seq: int = 0
    complete: bool = False
    seqs: list[int] = field(default_factory=list)


Progress = Callable[[ReplayReport], None]


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
) -> ReplayReport:
    """Run ``cdef``'s handler over ``slice_``; returns when the slice is done or ``stop`` is set."""
    stream = rt.topology.stream(slice_.stream)
    info = await rt.js.stream_info(stream)
    report = ReplayReport()
    last = info.state.last_seq
    report.end_seq = min(slice_.to_seq, last) if slice_.to_seq else last
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
    report.total = cinfo.num_pending
    done = asyncio.Event()
    stop = stop or asyncio.Event()
    until_ns = int(slice_.until.timestamp() * 1e9) if slice_.until else None

    # Handed to the handler and not settled yet: the end is reached only when these are settled
    # too (a batch still being written when the last one finished may yet be retried).
    in_flight: set[int] = set()

    def in_slice(d: Delivery) -> bool:
        if d.meta.stream_seq > report.end_seq:
            return False
        if until_ns is not None and d.meta.timestamp_ns > until_ns:
            return False
        in_flight.add(d.meta.stream_seq)
        return True

    retrying: set[int] = set()

    def observe(d: Delivery, outcome: str) -> None:
        in_flight.discard(d.meta.stream_seq)
        if outcome == "retry":
            report.retried += 1
            retrying.add(d.meta.stream_seq)
            return
        retrying.discard(d.meta.stream_seq)
        report.last_seq = max(report.last_seq, d.meta.stream_seq)
        if d.reason == "gate":
            done.set()  # past the end of the slice: everything before it is settled or in flight
            return
        report.visited += 1
        if record_seqs:
            report.seqs.append(d.meta.stream_seq)
        if outcome == "dlq":
            report.dead_lettered += 1
        elif outcome == "skip":
            report.skipped += 1
        else:
            report.handled += 1
        if d.meta.stream_seq >= report.end_seq or d.meta.num_pending == 0:
            done.set()
        if progress is not None:
            progress(report)

    handler = cdef.handler
    if rate and handler is not None:
        handler = _rate_limited(handler, rate)
    paced = ConsumerDef(spec=spec, handler=handler, batch_handler=cdef.batch_handler if not handler else None,
                        batch=cdef.batch, concurrency=cdef.concurrency if not rate else 1,
                        batch_concurrency=cdef.batch_concurrency)
    consumer: Consumer = build_consumer(rt, paced, gate=in_slice, observer=observe)
    if report.total == 0:
        report.complete = True
        await rt.js.delete_consumer(stream, name)
        return report
    await consumer.start()
    try:
        stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait())
        finisher: asyncio.Task[Any] = asyncio.create_task(done.wait())
        loop = asyncio.get_running_loop()
        moved_at, before = loop.time(), report.visited + report.retried
        while True:
            await asyncio.wait([stopper, finisher], timeout=idle_timeout, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set() or (done.is_set() and not retrying and not in_flight):
                break
            if done.is_set():  # past the end, messages still in flight or to be retried: poll until settled
                finisher = asyncio.create_task(asyncio.sleep(0.2))
            if report.visited + report.retried != before:
                moved_at, before = loop.time(), report.visited + report.retried
            elif loop.time() - moved_at >= idle_timeout:  # not 0.2 s: a retry's delay is longer
                log.warning("replay idle for %ss; ending", idle_timeout)
                break
        stopper.cancel()
        finisher.cancel()
        # Let in-flight messages of the slice settle before the consumer goes away.
        await consumer.stop(grace=30)
        report.complete = done.is_set() and not retrying and not in_flight and not stop.is_set()
    finally:
        try:
            await rt.js.delete_consumer(stream, name)
        except Exception:
            pass
    return report


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
