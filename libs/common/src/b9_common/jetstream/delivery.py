"""One delivered message, its JetStream metadata, and the replies that settle it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from b9_common.errors import Reject, Retry, Skip
from b9_common.events.envelope import Envelope

ACK = b"+ACK"
TERM = b"+TERM"
WPI = b"+WPI"


@dataclass(slots=True)
class AckMeta:
    stream: str
    consumer: str
    num_delivered: int
    stream_seq: int
    consumer_seq: int
    timestamp_ns: int
    num_pending: int


def parse_ack_subject(reply: str) -> AckMeta | None:
    """Parse ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`` (v1 or v2)."""
    tokens = reply.split(".")
    if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
        return None
    off = 2 if len(tokens) == 9 else 4
    try:
        return AckMeta(
            stream=tokens[off],
            consumer=tokens[off + 1],
            num_delivered=int(tokens[off + 2]),
            stream_seq=int(tokens[off + 3]),
            consumer_seq=int(tokens[off + 4]),
            timestamp_ns=int(tokens[off + 5]),
            num_pending=int(tokens[off + 6]),
        )
    except (IndexError, ValueError):
        return None


@dataclass(slots=True)
class Delivery:
    """A message handed to a handler. Batch handlers mark outcomes with retry/reject/skip."""

    msg: Msg
    meta: AckMeta
    type: str
    envelope: Envelope[Any] | None = None
    started: float = field(default_factory=time.monotonic)
    # Outcome a batch handler may set: None = success.
    outcome: str | None = None
    reason: str = ""
    delay: float | None = None

    @property
    def data(self) -> Any:
        assert self.envelope is not None
        return self.envelope.data

    def retry(self, reason: str, delay: float | None = None) -> None:
        self.outcome, self.reason, self.delay = "retry", reason, delay

    def reject(self, reason: str) -> None:
        self.outcome, self.reason = "reject", reason

    def skip(self, reason: str = "unchanged") -> None:
        self.outcome, self.reason = "skip", reason

    async def in_progress(self, nc: NATS) -> None:
        """Tell the server this message is still being worked on (resets ack_wait)."""
        await nc.publish(self.msg.reply, WPI)


def mark_failure(d: Delivery, exc: Exception) -> None:
    """Set the outcome a handler's exception asks for; anything unexpected is a retry."""
    if isinstance(exc, Skip):
        d.skip(exc.reason)
    elif isinstance(exc, Reject):
        d.reject(exc.reason)
    elif isinstance(exc, Retry):
        d.retry(exc.reason, exc.delay)
    else:
        d.retry(f"{type(exc).__name__}: {exc}")


def nak_payload(delay: float | None) -> bytes:
    if delay is None or delay <= 0:
        return b"-NAK"
    return b'-NAK {"delay": %d}' % int(delay * 1e9)
