"""How a replay runs a consumer's handler: tracked (to know where to resume) and paced.

Every handler becomes a batch handler here: a per-event handler is run over the batch with
the runtime's error mapping (Skip / Reject / Retry / anything else = retry), so the stream
sequence of every delivery is visible. ``Tracker`` keeps the sequences handed to the handler
until they settle. ``Pacer`` holds the replay to ``rate`` events/s (batch handlers included,
which the primitive's own ``rate`` does not pace).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from b9_common.errors import HandlerError
from b9_common.jetstream.consumer import BatchHandler, Handler
from b9_common.jetstream.delivery import Delivery, mark_failure
from b9_common.service import ConsumerDef

log = logging.getLogger(__name__)


class Tracker:
    def __init__(self) -> None:
        self.pending: set[int] = set()
        self.last_settled = 0

    def start(self, seqs: Iterable[int]) -> None:
        self.pending.update(seqs)

    def settle(self, seqs: Iterable[int]) -> None:
        for s in seqs:
            self.pending.discard(s)
            if s > self.last_settled:
                self.last_settled = s

    def resume_from(self, start: int) -> int:
        """Lowest sequence not known to be settled (everything below it is done)."""
        if self.pending:
            return min(self.pending)
        return self.last_settled + 1 if self.last_settled else start


class Pacer:
    """At most ``rate`` events per second on average, across concurrent batches."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def take(self, n: int) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._next - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(loop.time(), self._next) + n / self.rate


def as_batch(handler: Handler, concurrency: int) -> BatchHandler:
    """A per-event handler as a batch handler, with the runtime's outcome mapping."""

    async def batch(ds: list[Delivery]) -> None:
        sem = asyncio.Semaphore(max(1, concurrency))

        async def one(d: Delivery) -> None:
            async with sem:
                assert d.envelope is not None
                try:
                    await handler(d.envelope)
                except asyncio.CancelledError:
                    d.retry("shutdown", 0)
                    raise
                except Exception as exc:
                    if not isinstance(exc, HandlerError):
                        log.exception("handler failed during replay")
                    mark_failure(d, exc)

        await asyncio.gather(*(one(d) for d in ds))

    return batch


def wrap_consumer(cdef: ConsumerDef, tracker: Tracker, rate: float | None = None) -> ConsumerDef:
    if cdef.batch_handler is not None:
        inner, batch, parallel = cdef.batch_handler, cdef.batch, cdef.batch_concurrency
    else:
        assert cdef.handler is not None
        batch = max(1, min(cdef.batch, cdef.concurrency))
        inner, parallel = as_batch(cdef.handler, cdef.concurrency), 2
    pacer = Pacer(rate) if rate else None
    if pacer is not None:
        batch, parallel = max(1, min(batch, int(rate or 1) // 4 or 1)), 1

    async def tracked(ds: list[Delivery]) -> None:
        tracker.start(d.meta.stream_seq for d in ds)
        if pacer is not None:
            await pacer.take(len(ds))
        await inner(ds)

    return ConsumerDef(spec=cdef.spec, batch_handler=tracked, batch=batch, batch_concurrency=parallel)
