"""Publishing events: one at a time with a confirmed ack, or in bulk with bounded in-flight acks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

from b9_common.errors import PublishError
from b9_common.events.catalogue import spec_of
from b9_common.events.envelope import Envelope, encode, make_envelope
from b9_common.jetstream.natsio import (
    can_frame,
    client_of,
    hpub,
    msg_id_headers,
    parse_headers,
    subscribe_raw,
    unsubscribe_raw,
    write_frames,
)
from b9_common.jetstream.topology import Topology
from b9_common.ops import tracing

MSG_ID = "Nats-Msg-Id"


class Publisher:
    """Wraps payloads in the envelope and publishes them with ``Nats-Msg-Id`` = event id."""

    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        source: str,
        *,
        timeout: float = 5.0,
        window: int = 2048,
    ) -> None:
        self.js = js
        self.topology = topology
        self.source = source
        self.timeout = timeout
        self.window = window

    def envelope(
        self,
        payload: Any,
        *,
        trace: str | None = None,
        occurred_at: datetime | None = None,
        id_: str | None = None,
    ) -> Envelope[Any]:
        spec = spec_of(payload)
        if trace is None and tracing.ENABLED:
            trace = tracing.current_traceparent()
        return make_envelope(
            spec.type, payload, source=self.source, version=spec.version,
            trace=trace, occurred_at=occurred_at, id_=id_,
        )

    async def publish(
        self,
        payload: Any,
        *,
        trace: str | None = None,
        occurred_at: datetime | None = None,
        id_: str | None = None,
    ) -> Envelope[Any]:
        """Publish one event and wait for the server's ack; ``PublishError`` if it does not come."""
        env = self.envelope(payload, trace=trace, occurred_at=occurred_at, id_=id_)
        await self.publish_envelope(env)
        return env

    async def publish_envelope(self, env: Envelope[Any]) -> None:
        subject = self.topology.subject(env.type)
        headers = {MSG_ID: env.id}
        try:
            if tracing.ENABLED:
                with tracing.publishing(subject, env, headers):
                    await self.js.publish(subject, encode(env), timeout=self.timeout, headers=headers)
            else:
                await self.js.publish(subject, encode(env), timeout=self.timeout, headers=headers)
        except (TimeoutError, NatsTimeout) as exc:
            raise PublishError(f"no ack from JetStream for {subject} within {self.timeout}s") from exc
        except (NoStreamResponseError, NoRespondersError) as exc:
            raise PublishError(f"no stream accepts {subject} (streams not provisioned?)") from exc
        except APIError as exc:
            raise PublishError(f"JetStream refused {subject}: {exc.description}") from exc

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        """Publish bytes as they are (DLQ copies and retries). Waits for the ack."""
        try:
            await self.js.publish(subject, data, timeout=self.timeout, headers=headers)
        except (TimeoutError, NatsTimeout) as exc:
            raise PublishError(f"no ack from JetStream for {subject} within {self.timeout}s") from exc
        except (NoStreamResponseError, NoRespondersError) as exc:
            raise PublishError(f"no stream accepts {subject}") from exc
        except APIError as exc:
            raise PublishError(f"JetStream refused {subject}: {exc.description}") from exc

    async def publish_many(self, items: Iterable[Any]) -> int:
        """Publish payloads (or envelopes) with at most ``window`` acks in flight.

        Acks are counted on one wildcard reply subscription (no future per message), read raw
        (``natsio.subscribe_raw``: no nats-py ``Msg``, queue or awaited callback per ack), which
        is what makes bulk publishing fast in Python. While connected, the messages between two
        waits are framed here (``HPUB`` with the ``Nats-Msg-Id`` header, as the client would)
        and handed to the client's write buffer in one piece (``natsio``, the nats-py seam):
        per-message ``nc.publish`` calls were a third of a bulk publish's CPU. Returns how many
        were acknowledged (duplicates inside the window count: the server acked them). Raises ``PublishError``
        naming the first failure once the batch is settled, or when acks stop arriving.
        """
        nc = client_of(self.js)
        inbox = nc.new_inbox()
        state = _AckCounter(self.window)
        sub = await subscribe_raw(nc, f"{inbox}.*", state.on_raw)
        sent = 0
        framed: list[bytes] = []
        framed_bytes = 0
        subjects: dict[str, bytes] = {}
        try:
            for item in items:
                env = item if isinstance(item, Envelope) else self.envelope(item)
                if state.pending >= self.window:
                    framed_bytes = await _write(nc, framed, framed_bytes)
                    await state.wait_for_space(self.timeout)
                state.pending += 1
                data = encode(env)
                subject = subjects.get(env.type)
                if subject is None:
                    subject = subjects[env.type] = self.topology.subject(env.type).encode()
                tp = _traced(subject, env) if tracing.ENABLED else None
                hdr = msg_id_headers(env.id, tp) if can_frame(nc, len(data)) else None
                if hdr is None:  # reconnecting, oversized, odd id: the client's own checks decide
                    framed_bytes = await _write(nc, framed, framed_bytes)
                    headers = {MSG_ID: env.id} if tp is None else {MSG_ID: env.id, tracing.TRACEPARENT: tp}
                    await nc.publish(subject.decode(), data, reply=f"{inbox}.{sent}", headers=headers)
                else:
                    framed.append(hpub(subject, f"{inbox}.{sent}", hdr, data))
                    framed_bytes += len(data)
                    if len(framed) >= 512:
                        framed_bytes = await _write(nc, framed, framed_bytes)
                sent += 1
            await _write(nc, framed, framed_bytes)
            await state.wait_all(self.timeout)
        finally:
            await unsubscribe_raw(nc, sub)
        if state.errors:
            raise PublishError(f"{len(state.errors)} of {sent} publishes failed: {state.errors[0]}")
        return state.acked


def _traced(subject: bytes, env: Envelope[Any]) -> str:
    """Span one bulk publish (ended at once: acks are counted for the batch); its traceparent."""
    span = tracing.start_publish(subject.decode(), env)
    span.end()
    return tracing.format_traceparent(span)


async def _write(nc: Any, framed: list[bytes], payload_bytes: int) -> int:
    """Hand framed commands to the client's write buffer and kick its flusher; returns 0."""
    if framed:
        await write_frames(nc, b"".join(framed), len(framed), payload_bytes)
        framed.clear()
    return 0


class _AckCounter:
    def __init__(self, window: int) -> None:
        self.window = window
        self.pending = 0
        self.acked = 0
        self.errors: list[str] = []
        self._space = asyncio.Event()
        self._idle = asyncio.Event()

    def on_raw(self, subject: bytes, reply: bytes, data: bytes, header_block: bytes | None) -> None:
        """A PubAck (or an error, or a status) as the client's parser read it (``subscribe_raw``)."""
        self.pending -= 1
        if header_block is not None and not data and (parse_headers(header_block) or {}).get("Status") == "503":
            self.errors.append("no stream accepts the subject (no responders)")
        elif data.startswith(b'{"error"') or b'"error":' in data[:40]:
            self.errors.append(data.decode(errors="replace"))
        else:
            self.acked += 1
        if self.pending <= self.window // 2:
            self._space.set()
        if self.pending == 0:
            self._idle.set()

    async def _wait(self, event: asyncio.Event, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            raise PublishError(f"JetStream stopped acking ({self.pending} publishes unacknowledged "
                               f"after {timeout}s {what})") from None

    async def wait_for_space(self, timeout: float) -> None:
        self._space.clear()
        if self.pending >= self.window:
            await self._wait(self._space, timeout, "with the window full")

    async def wait_all(self, timeout: float) -> None:
        if self.pending > 0:
            self._idle.clear()
            if self.pending > 0:
                await self._wait(self._idle, timeout, "at the end of the batch")
