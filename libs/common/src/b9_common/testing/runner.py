"""Run a handler on one event (or a batch) the way the consumer runtime does, without servers.

The event is encoded and decoded through the catalogue as it would be on the wire, handed to the
handler inside a ``Delivery`` with the JetStream metadata the runtime would parse, and the
handler's result is mapped by the runtime's own code (``delivery.mark_failure``,
``mark_batch_failure``, ``settlement``) to what the consumer would reply: ``ack`` (``+ACK``),
``skip`` (``+ACK``, counted as skipped), ``retry`` (``-NAK`` with the delay), or ``dlq`` (the
copy published to DLQ with the reason, then ``+TERM``). The DLQ copy goes through the real
``dead_letter`` into the ``FakePublisher``, so its headers are the ones an operator would see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from b9_common.events.envelope import Envelope, encode
from b9_common.jetstream.consumer import BatchHandler, Handler
from b9_common.jetstream.delivery import (
    Delivery,
    default_backoff,
    mark_batch_failure,
    mark_failure,
    open_delivery,
    settlement,
)
from b9_common.jetstream.dlq import dead_letter
from b9_common.jetstream.natsio import message, parse_ack_subject
from b9_common.jetstream.topology import ConsumerSpec, Topology
from b9_common.testing.fakes import FakePublisher, Sent

log = logging.getLogger(__name__)

SPEC = ConsumerSpec(name="tests", stream="SCRAPE", subjects=(), max_deliver=5)


@dataclass(frozen=True)
class Raw:
    """Bytes as they arrive on the subject of ``type_`` (to test undecodable or odd events)."""

    type_: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    """What the runtime does with the message: ``outcome`` is ``ack`` / ``skip`` / ``retry`` /
    ``dlq``, ``reply`` the bytes it sends on the ack subject, ``dlq`` the copy it dead-letters."""

    outcome: str
    reason: str
    delay: float | None
    reply: bytes
    dlq: Sent | None = None


@dataclass
class Run:
    """The settings of one run: the consumer (``max_deliver``), the delivery count, the backoff."""

    spec: ConsumerSpec = SPEC
    num_delivered: int = 1
    backoff: Callable[[int], float] = default_backoff
    topology: Topology | None = None
    publisher: FakePublisher | None = None  # receives the DLQ copies (a new one if not given)


def delivery(event: Any, *, num_delivered: int = 1, seq: int = 1, spec: ConsumerSpec = SPEC,
             topology: Topology | None = None, source: str = "tests@0") -> Delivery:
    """The ``Delivery`` the runtime would hand a batch handler for ``event`` (a payload, an
    ``Envelope`` or ``Raw``); its outcome is already set when the bytes do not decode."""
    topo = topology or Topology()
    if isinstance(event, Raw):
        type_, data, headers = event.type_, event.data, {}
    else:
        env = event if isinstance(event, Envelope) else FakePublisher(topo, source).envelope(event)
        type_, data, headers = env.type, encode(env), {"Nats-Msg-Id": env.id}
    stamp = 1_700_000_000_000_000_000 + seq
    reply = f"$JS.ACK.{topo.stream(spec.stream)}.{spec.name}.{num_delivered}.{seq}.{seq}.{stamp}.0"
    msg = message(topo.subject(type_), data, reply, headers)
    meta = parse_ack_subject(reply)
    assert meta is not None
    return open_delivery(msg, meta, type_)


async def settle(d: Delivery, run: Run) -> Outcome:
    """The reply the runtime sends for a delivery whose handler has run (the DLQ copy first)."""
    s = settlement(d, run.spec.max_deliver, run.backoff)
    copy = None
    if s.outcome == "dlq":
        publisher = run.publisher or FakePublisher(run.topology)
        before = len(publisher.sent)
        await dead_letter(publisher, type_=d.type, subject=d.msg.subject, data=d.msg.data,
                          original_headers=d.msg.headers, meta=d.meta, reason=s.reason)
        copy = publisher.sent[before]
    return Outcome(s.outcome, s.reason, s.delay, s.reply, copy)


async def run_handler(handler: Handler, event: Any, run: Run | None = None, **options: Any) -> Outcome:
    """Run a per-event ``handler(envelope)`` on ``event``; the outcome the runtime would settle.
    ``options`` are ``Run``'s fields (``num_delivered=6``, ``spec=...``)."""
    r = run or Run(**options)
    d = delivery(event, num_delivered=r.num_delivered, spec=r.spec, topology=r.topology)
    if d.outcome is None:
        assert d.envelope is not None
        try:
            await handler(d.envelope)
        except Exception as exc:
            mark_failure(d, exc)
    return await settle(d, r)


async def run_batch(handler: BatchHandler, events: Sequence[Any], run: Run | None = None,
                    **options: Any) -> list[Outcome]:
    """Run a ``batch_handler(deliveries)`` on ``events`` (one delivery each, in order); the
    outcome of each as the runtime would settle it."""
    r = run or Run(**options)
    ds = [delivery(e, num_delivered=r.num_delivered, seq=i + 1, spec=r.spec, topology=r.topology)
          for i, e in enumerate(events)]
    good = [d for d in ds if d.outcome is None]
    if good:
        try:
            await handler(good)
        except Exception as exc:
            mark_batch_failure(good, exc)
    return [await settle(d, r) for d in ds]
