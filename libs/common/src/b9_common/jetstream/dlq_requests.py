"""A dead-lettered command fails the request it carries (#18).

A command that no handler can run -- it does not decode, a handler rejects it, its deliveries
run out -- goes to ``DLQ``; its followed request (``b9_common.ops.requests``) would stay
``queued`` until it expires. ``serve`` gives every consumer of ``COMMANDS`` a
``DeadLetterReporter`` as its observer: on a ``dlq`` outcome it reads the command's
``request_id`` (from the decoded payload, or leniently from the raw JSON of one that did not
decode) and turns the request ``failed`` with reason ``dead_lettered`` and the DLQ reason as its
message, within the moment it takes to write the record; the gateway's live feed sends the change
(``request.changed``). A request already finished keeps its outcome (a failure the handler
reported first keeps its more precise reason), and the report is best effort: a KV hiccup is
logged and the dead letter stays where it is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import msgspec

from b9_common.jetstream.delivery import Delivery
from b9_common.ops.requests import RequestBook

log = logging.getLogger(__name__)
REASON = "dead_lettered"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MESSAGE_MAX = 300


class _Lenient(msgspec.Struct):
    data: Any = None


def request_id_of(d: Delivery) -> str | None:
    """The ``request_id`` a command carries, also when its payload did not decode."""
    rid: Any = None
    if d.envelope is not None:
        rid = getattr(d.envelope.data, "request_id", None)
    else:
        try:
            data = msgspec.json.decode(d.msg.data, type=_Lenient).data
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        rid = data.get("request_id") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) and _ID.match(rid) else None


def failed_record(rec: dict[str, Any], *, why: str, consumer: str, type_: str, seq: int) -> dict[str, Any] | None:
    """The change a dead letter makes to a request record (None: leave it)."""
    where = {"consumer": consumer, "type": type_, "stream_seq": seq}
    if rec.get("status") in (None, "done"):  # never opened (or expired), or finished
        return None
    if rec.get("status") == "failed":
        return None if rec.get("dead_letter") else {**rec, "dead_letter": where}
    message = f"the command was dead-lettered by {consumer}: {why}"
    if len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "…"
    return {**rec, "status": "failed", "reason": REASON, "message": message, "http_status": None,
            "dead_letter": where}


class DeadLetterReporter:
    """A ``Consumer`` observer: ``(delivery, outcome)``; acts on ``dlq`` outcomes only."""

    def __init__(self, book: RequestBook, consumer: str) -> None:
        self.book, self.consumer = book, consumer
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, d: Delivery, outcome: str) -> None:
        if outcome != "dlq":
            return
        rid = request_id_of(d)
        if rid is None:
            return
        task = asyncio.get_running_loop().create_task(self._fail(rid, d.reason or "rejected", d.type,
                                                                 d.meta.stream_seq))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fail(self, rid: str, why: str, type_: str, seq: int) -> None:
        try:
            await self.book.update(rid, lambda rec: failed_record(rec, why=why, consumer=self.consumer,
                                                                 type_=type_, seq=seq))
        except Exception as exc:  # never more than a log line: the dead letter itself is kept
            log.warning("request %s: could not record the dead letter (%s)", rid, exc)

    async def drain(self, timeout: float = 5.0) -> None:
        """Let the reports in flight finish (a service stopping after a dead letter)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
