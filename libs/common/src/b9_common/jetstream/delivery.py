"""One delivered message, its JetStream metadata, and the runtime's rules for settling it.

The rules live here, as plain functions, so the consumer runtime and ``b9_common.testing`` use
the same ones: ``open_delivery`` (decode or refuse), ``mark_failure`` / ``mark_batch_failure``
(what a handler's exception means for each delivery) and ``settlement`` (ack, skip, nak with a
delay, or DLQ). The ack-subject metadata comes from ``natsio`` (the nats-py seam)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS

from b9_common.errors import HandlerError, Reject, Retry, Skip
from b9_common.events.catalogue import EVENTS, decoder_for
from b9_common.events.envelope import Envelope, EnvelopeDecoder
from b9_common.jetstream.natsio import AckMeta, Message, parse_ack_subject

__all__ = ["ACK", "TERM", "WPI", "AckMeta", "Delivery", "Settlement", "default_backoff", "mark_batch_failure",
           "mark_failure", "nak_payload", "open_delivery", "parse_ack_subject", "settlement"]

ACK = b"+ACK"
TERM = b"+TERM"
WPI = b"+WPI"


@dataclass(slots=True)
class Delivery:
    """A message handed to a handler. Batch handlers mark outcomes with retry/reject/skip."""

    msg: Message  # a nats-py ``Msg`` or the runtime's ``natsio.RawMsg``
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


def default_backoff(num_delivered: int) -> float:
    """Nak delay after the n-th failed delivery: 1, 2, 4, ... seconds, at most 60."""
    return float(min(60, 2 ** max(0, num_delivered - 1)))


_DECODERS: dict[str, EnvelopeDecoder[Any]] = {}  # per event type: a dict look-up per message


def open_delivery(msg: Message, meta: AckMeta, type_: str, gate: Callable[[Delivery], bool] | None = None) -> Delivery:
    """The delivery of ``msg`` (an event of ``type_``), decoded; its outcome is already set when
    the subject is unknown (reject), the gate leaves it out (skip) or the bytes do not decode."""
    d = Delivery(msg=msg, meta=meta, type=type_)
    decoder = _DECODERS.get(type_)
    if decoder is None:
        if type_ not in EVENTS:
            d.reject(f"unknown subject {msg.subject!r}")
            return d
        decoder = _DECODERS[type_] = decoder_for(type_)
    if gate is not None and not gate(d):
        d.skip("outside slice")
        d.reason = "gate"
        return d
    try:
        d.envelope = decoder.decode(msg.data)
    except Reject as exc:
        d.reject(exc.reason)
    return d


def mark_batch_failure(good: list[Delivery], exc: Exception) -> None:
    """A batch handler raised: ``Retry`` / ``Reject`` / ``Skip`` apply to the deliveries it left
    unmarked; anything unexpected retries every delivery not rejected (a skip may be the bug's)."""
    if isinstance(exc, HandlerError):
        for d in good:
            if d.outcome is None:
                mark_failure(d, exc)
        return
    for d in good:
        if d.outcome in (None, "skip"):
            d.retry(f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the runtime does with a handled delivery: ``outcome`` is ``ack``, ``skip``, ``retry``
    (nak after ``delay`` seconds) or ``dlq`` (copy into DLQ with ``reason``, then terminate)."""

    outcome: str
    reason: str
    delay: float | None = None

    @property
    def reply(self) -> bytes:
        if self.outcome == "dlq":
            return TERM
        if self.outcome == "retry":
            return nak_payload(self.delay)
        return ACK


ACKED = Settlement("ack", "")


def settlement(d: Delivery, max_deliver: int, backoff: Callable[[int], float] = default_backoff) -> Settlement:
    """The consumer's rule: a retry on the last allowed delivery, and a reject, go to DLQ."""
    if d.outcome is None and not d.reason:
        return ACKED  # the common case, without an allocation per message
    outcome = d.outcome or "ack"
    if outcome == "retry" and d.meta.num_delivered >= max_deliver:
        return Settlement("dlq", f"max deliveries ({d.meta.num_delivered}) exhausted: {d.reason}")
    if outcome == "reject":
        return Settlement("dlq", d.reason)
    if outcome == "retry":
        return Settlement("retry", d.reason, d.delay if d.delay is not None else backoff(d.meta.num_delivered))
    return Settlement(outcome, d.reason)
