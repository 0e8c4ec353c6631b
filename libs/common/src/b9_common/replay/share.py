"""One process's part of a replay: a puller on the replay's consumer that counts what it settles.

A replay reads through one named consumer (``runner.replay`` creates it). The process that
runs the replay pulls from it with a ``Share``; with ``REPLAY_WORKERS`` > 1, worker
subprocesses of the same service (``replay.worker``, started by ``replay.crew``) pull from
the same consumer with a ``Share`` each, so the server hands every message of the slice to
exactly one of them (and again after ``ack_wait`` if its puller died: at least once).

A share gates what lies past the end of the slice (acked unhandled, ``reason = gate``),
counts every settled delivery in its ``ReplayReport`` and sets ``past_end`` once it saw the
end (the last sequence of the slice, nothing pending, or a gated message): everything of the
slice has then been delivered to some puller. ``in_flight`` / ``retrying`` are what this
process still holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import ConsumerDef, Runtime, build_consumer

COUNTS = ("visited", "handled", "skipped", "retried", "dead_lettered")


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
    # Several processes: the consumer's ack floor once all of them stopped (everything at or
    # below it is settled), and the pids of the worker subprocesses that took part.
    ack_floor: int | None = None
    workers: list[int] = field(default_factory=list)
    by_process: dict[int, int] = field(default_factory=dict)  # pid -> messages it visited

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNTS}


class Share:
    def __init__(self, rt: Runtime, cdef: ConsumerDef, spec: ConsumerSpec, end_seq: int, until_ns: int | None,
                 *, record_seqs: bool = False, progress: Callable[[ReplayReport], None] | None = None) -> None:
        self.report = ReplayReport(end_seq=end_seq)
        self.until_ns = until_ns
        self.record_seqs = record_seqs
        self.progress = progress
        self.past_end = asyncio.Event()
        # Handed to the handler and not settled yet: the end is reached only when these are settled
        # too (a batch still being written when the last one finished may yet be retried).
        self.in_flight: set[int] = set()
        self.retrying: set[int] = set()
        self.consumer: Consumer = build_consumer(rt, cdef, spec=spec, gate=self.in_slice, observer=self.observe)

    @property
    def holding(self) -> bool:
        return bool(self.in_flight or self.retrying)

    def in_slice(self, d: Delivery) -> bool:
        if d.meta.stream_seq > self.report.end_seq:
            return False
        if self.until_ns is not None and d.meta.timestamp_ns > self.until_ns:
            return False
        self.in_flight.add(d.meta.stream_seq)
        return True

    def observe(self, d: Delivery, outcome: str) -> None:
        report = self.report
        seq = d.meta.stream_seq
        self.in_flight.discard(seq)
        if outcome == "retry":
            report.retried += 1
            self.retrying.add(seq)
            return
        self.retrying.discard(seq)
        report.last_seq = max(report.last_seq, seq)
        if d.reason == "gate":
            self.past_end.set()  # past the end of the slice: everything before it is settled or in flight
            return
        report.visited += 1
        if self.record_seqs:
            report.seqs.append(seq)
        if outcome == "dlq":
            report.dead_lettered += 1
        elif outcome == "skip":
            report.skipped += 1
        else:
            report.handled += 1
        if seq >= report.end_seq or d.meta.num_pending == 0:
            self.past_end.set()
        if self.progress is not None:
            self.progress(report)
