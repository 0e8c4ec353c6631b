"""The consumer runtime: durable pull consumers whose handlers' errors say what happens.

A consumer is given either a per-event ``handler(envelope)`` (run with bounded
concurrency) or a ``batch_handler(deliveries)`` (called with up to ``batch`` decoded
deliveries, for writers that upsert many rows in one statement). Outcomes:

- returns normally -> ack;  ``Skip`` -> ack, counted as skipped;
- ``Retry`` or any unexpected exception -> nak with a delay (growing with deliveries);
  on the last allowed delivery -> copied into DLQ with the reason, then terminated;
- ``Reject`` / ``DecodeError`` -> copied into DLQ with the reason, then terminated.

A DLQ copy that cannot be stored leaves the message nak'ed: nothing is dropped.

The per-message path is kept short: messages come from the pull engine as ``RawMsg`` (no nats-py
``Msg``, headers parsed only if read), a pool of workers takes them (no task per message), and
a per-event handler's acks go out together once per event-loop turn (``acks.Acks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from b9_common.errors import HandlerError, PublishError
from b9_common.events.envelope import Envelope
from b9_common.jetstream.acks import Acks
from b9_common.jetstream.delivery import (
    Delivery,
    default_backoff,
    mark_batch_failure,
    mark_failure,
    nak_payload,
    open_delivery,
    parse_ack_subject,
    settlement,
)
from b9_common.jetstream.dlq import dead_letter
from b9_common.jetstream.natsio import Message, ack_frames, write_frames
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.pull import PullEngine
from b9_common.jetstream.topology import ConsumerSpec, Topology
from b9_common.ops import tracing
from b9_common.ops.logs import event_id_var, message_context, subject_var
from b9_common.ops.metrics import CONSUMER_LAG, EVENTS_HANDLED, HANDLER_SECONDS

log = logging.getLogger(__name__)

Handler = Callable[[Envelope[Any]], Awaitable[None]]
BatchHandler = Callable[[list[Delivery]], Awaitable[None]]
__all__ = ["BatchHandler", "Consumer", "Handler", "default_backoff"]


class Consumer:
    def __init__(
        self,
        nc: NATS,
        js: JetStreamContext,
        topology: Topology,
        spec: ConsumerSpec,
        *,
        publisher: Publisher,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        batch: int = 256,
        concurrency: int = 64,
        batch_concurrency: int = 2,
        batch_wait: float = 0.02,
        gate: Callable[[Delivery], bool] | None = None,
        observer: Callable[[Delivery, str], None] | None = None,
        backoff: Callable[[int], float] = default_backoff,
        heartbeat: float = 1.0,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler / batch_handler")
        self.nc, self.js, self.topology, self.spec = nc, js, topology, spec
        self.publisher = publisher
        self.handler = handler
        self.batch_handler = batch_handler
        self.batch = batch
        self.concurrency = concurrency
        self.batch_wait = batch_wait
        self.backoff = backoff
        self.stream = topology.stream(spec.stream)
        prefetch = max(batch, concurrency) if handler is not None else batch * batch_concurrency
        self.engine = PullEngine(nc, self.stream, spec.name, batch=prefetch, heartbeat=heartbeat,
                                 on_stall=self._ensure)
        self._sem = asyncio.Semaphore(concurrency if handler else batch_concurrency)
        self._acks = Acks(nc, spec.name) if handler is not None else None
        self.gate = gate
        self.observer = observer
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False
        self._lag = CONSUMER_LAG.labels(self.stream, spec.name)
        self._latency = HANDLER_SECONDS.labels(spec.name)
        # Metrics are aggregated here and flushed to prometheus once a second (cheap hot path).
        self._pending_counts: dict[tuple[str, str], int] = {}
        self._last_pending = 0
        self._sample = 0
        self._in_flight: dict[int, Delivery] = {}
        self._main: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.counts = {"ack": 0, "skip": 0, "retry": 0, "dlq": 0}

    async def _ensure(self) -> None:
        try:
            await self.topology.ensure_consumer(self.js, self.spec)
        except Exception as exc:  # server may still be down; the watchdog tries again
            log.warning("could not ensure consumer: %s", exc, extra={"consumer": self.spec.name})

    async def start(self) -> None:
        await self.topology.ensure_consumer(self.js, self.spec)
        await self.engine.start()
        if self._acks is not None:
            self._acks.start()
        if self.handler is not None:
            self._workers = [asyncio.create_task(self._worker(), name=f"worker:{self.spec.name}:{i}")
                             for i in range(self.concurrency)]
        else:
            self._main = asyncio.create_task(self._dispatch(), name=f"dispatch:{self.spec.name}")
        self._ticker = asyncio.create_task(self._progress_ticker(), name=f"wpi:{self.spec.name}")

    async def stop(self, grace: float = 20.0) -> None:
        """Drain: stop asking, hand back unstarted messages, let in-flight ones finish (or nak)."""
        self._closing = True
        left = await self.engine.stop()
        for msg in left:
            await self._reply(msg, b"-NAK")
        self.engine.wake_all()  # idle workers see _closing and exit
        if self._main:
            self._main.cancel()
            await asyncio.gather(self._main, return_exceptions=True)
        running = set(self._tasks) | set(self._workers)
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._acks is not None:
            await self._acks.close()
        for d in list(self._in_flight.values()):
            await self._reply(d.msg, b"-NAK")
        self._in_flight.clear()
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        self.flush_metrics()
        await self.engine.unsubscribe()
        try:
            await self.nc.flush(timeout=2)
        except Exception:
            pass

    # -- dispatch ----------------------------------------------------------------
    async def _worker(self) -> None:
        """Per-event mode: ``concurrency`` of these take one message at a time (no task per message)."""
        engine = self.engine
        buf = engine.buffer
        waiters = engine.waiters
        loop = asyncio.get_running_loop()
        while not self._closing:
            if not buf:
                fut: asyncio.Future[bool] = loop.create_future()
                waiters.append(fut)
                if await fut:
                    engine.woken -= 1
                continue
            msg = buf.popleft()
            engine.busy += 1
            if buf and waiters and not engine.woken:
                engine.wake_one()  # more is buffered: the next idle worker takes it
            try:
                await self._run_one(msg)
            except Exception:  # a bug in settling must not cost the pool a worker
                log.exception("message handling failed", extra={"consumer": self.spec.name})

    async def _dispatch(self) -> None:
        engine = self.engine
        while True:
            await engine.ready.wait()
            if len(engine.buffer) < self.batch and self.batch_wait and engine.outstanding:
                # More is on its way: wait (briefly) for a full batch rather than write a small one.
                engine.fill_target = self.batch
                engine.filled.clear()
                try:
                    async with asyncio.timeout(self.batch_wait):
                        await engine.filled.wait()
                except TimeoutError:
                    pass
                engine.fill_target = 0
            await self._sem.acquire()
            msgs = engine.take(self.batch if self.batch_handler else 1)
            if not msgs:
                self._sem.release()
                continue
            coro = self._run_batch(msgs) if self.batch_handler else self._run_one(msgs[0])
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._sem.release()

    def _prepare(self, msg: Message) -> Delivery | None:
        meta = parse_ack_subject(msg.reply or "")
        if meta is None:
            log.warning("message without JetStream metadata ignored", extra={"subject": msg.subject})
            return None
        self._last_pending = meta.num_pending
        return open_delivery(msg, meta, self.topology.type_of(msg.subject), self.gate)

    async def _run_one(self, msg: Message) -> None:
        d = self._prepare(msg)
        # message_context, without a context manager's two frames per message
        t_id = event_id_var.set(d.envelope.id if d is not None and d.envelope is not None else None)
        t_subject = subject_var.set(msg.subject)
        try:
            await self._handle_one(d)
        finally:
            event_id_var.reset(t_id)
            subject_var.reset(t_subject)

    async def _handle_one(self, d: Delivery | None) -> None:
        try:
            if d is None:
                return
            if d.outcome is None:
                assert self.handler is not None and d.envelope is not None
                self._in_flight[id(d)] = d
                t0 = time.perf_counter()
                try:
                    if tracing.ENABLED:
                        await tracing.run_handler(self.handler, d, self.spec.name)
                    else:
                        await self.handler(d.envelope)
                except asyncio.CancelledError:
                    d.retry("shutdown", 0)
                    raise
                except Exception as exc:
                    if not isinstance(exc, HandlerError):
                        log.exception("handler failed", extra={"consumer": self.spec.name})
                    mark_failure(d, exc)
                finally:
                    self._sample += 1
                    if self._sample & 3 == 0:  # latency of one message in four
                        self._latency.observe(time.perf_counter() - t0)
            await self._settle_one(d)  # already in the message's log context
        finally:
            if d is not None:
                self._in_flight.pop(id(d), None)
            self.engine.settled(1)

    async def _run_batch(self, msgs: Sequence[Message]) -> None:
        ds = [d for d in (self._prepare(m) for m in msgs) if d is not None]
        try:
            good = [d for d in ds if d.outcome is None]
            for d in good:
                self._in_flight[id(d)] = d
            if good:
                assert self.batch_handler is not None
                t0 = time.perf_counter()
                try:
                    if tracing.ENABLED:
                        await tracing.run_batch(self.batch_handler, good, self.spec.name)
                    else:
                        await self.batch_handler(good)
                except asyncio.CancelledError:
                    for d in good:
                        d.retry("shutdown", 0)
                    raise
                except Exception as exc:  # Retry / Reject / Skip: for the items left unmarked
                    if not isinstance(exc, HandlerError):
                        log.exception("batch handler failed", extra={"consumer": self.spec.name})
                    mark_batch_failure(good, exc)
                finally:
                    self._latency.observe(time.perf_counter() - t0)
            await self._settle_batch(ds)
        finally:
            for d in ds:
                self._in_flight.pop(id(d), None)
            self.engine.settled(len(msgs))

    # -- settling ----------------------------------------------------------------
    async def _reply(self, msg: Message, payload: bytes) -> None:
        if msg.reply:
            try:
                await self.nc.publish(msg.reply, payload)
            except Exception as exc:  # connection gone: the server redelivers after ack_wait
                log.warning("could not settle message: %s", exc)

    async def _settle_batch(self, ds: list[Delivery]) -> None:
        """Settle a batch: the plain acks go out as one write (one ``nc.publish`` each was
        a tenth of a batch consumer's CPU); DLQ copies, naks and terms one by one."""
        acks: list[Delivery] = []
        for d in ds:
            if d.outcome in (None, "skip") and d.msg.reply and self.nc.is_connected:
                acks.append(d)
            else:
                await self._settle(d)
        if not acks:
            return
        try:
            await write_frames(self.nc, ack_frames([d.msg.reply for d in acks]), len(acks), 4 * len(acks))
        except Exception as exc:  # connection gone: the server redelivers after ack_wait
            log.warning("could not settle messages: %s", exc)
        for d in acks:
            self._count(d, d.outcome or "ack")

    async def _settle(self, d: Delivery) -> None:
        with message_context(d.envelope.id if d.envelope is not None else None, d.msg.subject):
            await self._settle_one(d)

    async def _settle_one(self, d: Delivery) -> None:
        s = settlement(d, self.spec.max_deliver, self.backoff)
        d.reason = s.reason
        if self._acks is not None and s.outcome in ("ack", "skip") and d.msg.reply:
            self._acks.add(d.msg.reply)  # written with the other acks of this event-loop turn
            self._count(d, s.outcome)
            return
        if s.outcome == "dlq":
            try:
                await dead_letter(
                    self.publisher, type_=d.type, subject=d.msg.subject, data=d.msg.data,
                    original_headers=d.msg.headers, meta=d.meta, reason=d.reason,
                )
            except PublishError as exc:
                log.error("DLQ unavailable, message kept for redelivery: %s", exc)
                await self._reply(d.msg, nak_payload(5.0))
                return
            log.warning("dead-lettered: %s", d.reason, extra={"consumer": self.spec.name,
                                                              "subject": d.msg.subject,
                                                              "stream_seq": d.meta.stream_seq})
        await self._reply(d.msg, s.reply)
        self._count(d, s.outcome)

    def _count(self, d: Delivery, outcome: str) -> None:
        self.counts[outcome] += 1
        key = (d.type, outcome)
        self._pending_counts[key] = self._pending_counts.get(key, 0) + 1
        if self.observer is not None:
            self.observer(d, outcome)

    def flush_metrics(self) -> None:
        counts, self._pending_counts = self._pending_counts, {}
        for (type_, outcome), n in counts.items():
            EVENTS_HANDLED.labels(self.spec.name, type_, outcome).inc(n)
        self._lag.set(self._last_pending)

    async def _progress_ticker(self) -> None:
        """Flush metrics each second; send +WPI for messages in flight longer than a third of ack_wait."""
        period = max(1.0, self.spec.ack_wait / 3)
        last_wpi = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            self.flush_metrics()
            if time.monotonic() - last_wpi < period:
                continue
            last_wpi = time.monotonic()
            cutoff = last_wpi - period
            for d in list(self._in_flight.values()):
                if d.started < cutoff:
                    await d.in_progress(self.nc)
