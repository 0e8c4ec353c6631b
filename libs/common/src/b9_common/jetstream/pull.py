"""A pull-consumer engine on the core NATS client.

nats-py's ``fetch()`` spends most of its time in per-message tasks and timeouts. This
engine subscribes once to an inbox and asks the server for messages with
``$JS.API.CONSUMER.MSG.NEXT`` requests, keeping about ``batch`` messages requested
ahead of what is buffered and in flight. It handles the status messages itself:

- ``100`` idle heartbeat: the request is alive;
- ``404`` / ``408``: a request ended; ``Nats-Pending-Messages`` says how many it still owed;
- ``409``: request limits or a deleted consumer; the owed count is dropped and re-requested.

Messages arrive through ``natsio.subscribe_raw``: the parser's bytes become a ``RawMsg`` (headers
parsed only when read) in the read loop itself, with no ``Msg``, queue or task of nats-py's between.

A watchdog re-issues requests when nothing (not even a heartbeat) has arrived for
``stall_after`` seconds: that recovers from server restarts and lost requests, which
are the open stall issues of nats-py's pull subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription

from b9_common.jetstream.natsio import RawMsg, parse_headers, subscribe_raw, unsubscribe_raw

log = logging.getLogger(__name__)

PENDING_MSGS = "Nats-Pending-Messages"


class PullEngine:
    def __init__(
        self,
        nc: NATS,
        stream: str,
        consumer: str,
        *,
        batch: int = 512,
        expires: float = 10.0,
        heartbeat: float = 1.0,
        on_stall: Callable[[], Awaitable[None]] | None = None,
        max_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.nc = nc
        self.stream = stream
        self.consumer = consumer
        self.batch = batch
        self.expires = expires
        self.heartbeat = heartbeat
        self.stall_after = heartbeat * 2 + 1.0
        self.max_bytes = max_bytes
        self.on_stall = on_stall
        self.buffer: deque[RawMsg] = deque()
        # Idle per-event workers. One is woken when the buffer was empty and none is on its way;
        # a worker that takes a message and leaves more behind wakes the next (``wake_one``), so
        # a burst costs one wake per worker it keeps busy, not one per message.
        self.waiters: deque[asyncio.Future[bool]] = deque()
        self.woken = 0  # workers woken by ``wake_one`` that have not run yet
        # Batch mode: the dispatcher waits until this many are buffered (0 = not waiting).
        self.fill_target = 0
        self.filled = asyncio.Event()
        self.ready = asyncio.Event()
        self.outstanding = 0
        self.busy = 0  # messages taken from the buffer and not yet settled
        self.last_activity = time.monotonic()
        self.stopping = False
        self._wake = asyncio.Event()
        self._sub: Subscription | None = None
        self._inbox = ""
        self._task: asyncio.Task[None] | None = None
        self._late: set[asyncio.Task[None]] = set()
        self.requests_sent = 0
        self.stalls = 0
        self._retry_at = 0.0

    @property
    def api_subject(self) -> str:
        return f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}"

    async def start(self) -> None:
        self._inbox = self.nc.new_inbox()
        self._sub = await subscribe_raw(self.nc, self._inbox, self._on_raw)
        self._task = asyncio.create_task(self._loop(), name=f"pull:{self.stream}:{self.consumer}")

    def reset(self) -> None:
        """Forget owed messages (after a reconnect) so the loop re-requests at once."""
        self.outstanding = 0
        self._wake.set()

    def settled(self, n: int = 1) -> None:
        self.busy -= n
        # Wake the request loop only once half a batch can be asked for.
        if not self._wake.is_set() and len(self.buffer) + self.busy + self.outstanding <= self.batch * 3 // 2:
            self._wake.set()

    def take(self, limit: int) -> list[RawMsg]:
        out: list[RawMsg] = []
        buf = self.buffer
        while buf and len(out) < limit:
            out.append(buf.popleft())
        self.busy += len(out)
        if not buf:
            self.ready.clear()
        self._wake.set()
        return out

    async def stop(self) -> list[RawMsg]:
        """Stop requesting; return the buffered messages that no handler has started."""
        self.stopping = True
        self._wake.set()
        self.wake_all()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        left = list(self.buffer)
        self.buffer.clear()
        return left

    def wake_one(self) -> None:
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(True)
                self.woken += 1
                return

    def wake_all(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(False)

    async def unsubscribe(self) -> None:
        if self._sub is not None:
            try:
                await unsubscribe_raw(self.nc, self._sub)
            except Exception:  # connection already closed
                pass
            self._sub = None
        if self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    # -- internals -------------------------------------------------------------
    def _on_raw(self, subject: bytes, reply: bytes, data: bytes, header_block: bytes | None) -> None:
        """Called by the client's read loop for each message on the inbox (``subscribe_raw``)."""
        self.last_activity = time.monotonic()
        if header_block is not None and not data:
            hdrs = parse_headers(header_block)
            if hdrs and "Status" in hdrs:
                self._on_status(hdrs)
                return
        if self.outstanding > 0:
            self.outstanding -= 1
        if self.stopping:
            # Arrived after we stopped asking: hand it back at once.
            if reply:
                task = asyncio.ensure_future(self._nak(reply.decode()))
                self._late.add(task)
                task.add_done_callback(self._late.discard)
            return
        buf = self.buffer
        buf.append(RawMsg(subject.decode(), reply.decode(), data, header_block))
        self.ready.set()
        if self.fill_target and len(buf) >= self.fill_target:
            self.filled.set()
        if not self.woken and self.waiters:
            self.wake_one()

    async def _nak(self, reply: str) -> None:
        try:
            await self.nc.publish(reply, b"-NAK")
        except Exception as exc:  # connection gone: the server redelivers after ack_wait
            log.debug("could not hand back a late message: %s", exc)

    def _on_status(self, hdrs: dict[str, str]) -> None:
        status = hdrs.get("Status", "")
        if status == "100":
            return
        owed = hdrs.get(PENDING_MSGS)
        if self.fill_target:
            self.filled.set()  # a request ended: take what is buffered now
        if owed is not None and owed.isdigit():
            self.outstanding = max(0, self.outstanding - int(owed))
        elif status in ("404", "408", "409", "503"):
            self.outstanding = 0
        if status == "503":
            # No responders: the consumer has no leader yet (cluster failover, just created).
            self._retry_at = time.monotonic() + 0.25
        if status == "409":
            desc = str(hdrs.get("Description", ""))
            level = logging.WARNING if "Deleted" in desc else logging.DEBUG
            log.log(level, "pull request ended: 409 %s", desc,
                    extra={"stream": self.stream, "consumer": self.consumer})
        self._wake.set()

    async def _request(self, n: int) -> None:
        body = json.dumps({
            "batch": n,
            # Large events (100 posts each) must not flood the connection: past the server's
            # per-client pending limit it would cut us off as a slow consumer.
            "max_bytes": self.max_bytes,
            "expires": int(self.expires * 1e9),
            "idle_heartbeat": int(self.heartbeat * 1e9),
        }).encode()
        await self.nc.publish(self.api_subject, body, reply=self._inbox)
        self.outstanding += n
        self.requests_sent += 1

    async def _loop(self) -> None:
        while not self.stopping:
            try:
                if self.nc.is_connected and time.monotonic() >= self._retry_at:
                    want = self.batch * 2 - (len(self.buffer) + self.busy + self.outstanding)
                    if want >= self.batch // 2 or (self.outstanding == 0 and want > 0):
                        await self._request(want)
                        self.last_activity = time.monotonic()
                self._wake.clear()
                try:
                    timeout = self.heartbeat
                    if self._retry_at > time.monotonic():
                        timeout = self._retry_at - time.monotonic()
                    async with asyncio.timeout(timeout):  # no task per wait (3.11's wait_for makes one)
                        await self._wake.wait()
                except TimeoutError:
                    pass
                if time.monotonic() - self.last_activity > self.stall_after and self.outstanding:
                    self.stalls += 1
                    log.warning("pull consumer stalled; re-requesting",
                                extra={"stream": self.stream, "consumer": self.consumer})
                    self.outstanding = 0
                    self.last_activity = time.monotonic()
                    if self.on_stall is not None:
                        await self.on_stall()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pull loop error", extra={"stream": self.stream, "consumer": self.consumer})
                await asyncio.sleep(1.0)
