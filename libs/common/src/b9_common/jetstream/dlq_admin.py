"""DLQ administration shared by the gateway's admin API and the ``b9 dlq`` CLI.

Dead letters are the original bytes on ``<ns>.dlq.<type>`` with headers naming the
original subject, stream, sequence, consumer and the reason (see ``b9_common.jetstream.dlq``).
A retry republishes the original bytes to the original subject (with a fresh message id
derived from the DLQ sequence, so retrying the same entry twice stores it once), then
deletes the dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import msgspec
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from b9_common.jetstream import dlq
from b9_common.jetstream.publisher import MSG_ID
from b9_common.jetstream.topology import Topology

MAX_SCAN = 20_000


class DeadLetter(msgspec.Struct, kw_only=True):
    seq: int
    subject: str
    type: str
    original_subject: str
    original_stream: str | None = None
    original_seq: int | None = None
    consumer: str | None = None
    deliveries: int | None = None
    reason: str = ""
    event_id: str | None = None
    failed_at: str | None = None
    stored_at: datetime | None = None
    size: int = 0
    data: str | None = None
    headers: dict[str, str] | None = None


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching with ``*`` (one token) and ``>`` (the rest)."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def to_dead_letter(topology: Topology, msg: RawStreamMsg, *, with_data: bool = False) -> DeadLetter:
    h = {str(k): str(v) for k, v in (msg.headers or {}).items()}
    subject = msg.subject or ""
    prefix = topology.dlq_subject("")
    type_ = subject[len(prefix) :] if subject.startswith(prefix) else subject
    data = msg.data or b""
    return DeadLetter(
        seq=int(msg.seq or 0),
        subject=subject,
        type=type_,
        original_subject=h.get(dlq.ORIGINAL_SUBJECT, topology.subject(type_)),
        original_stream=h.get(dlq.ORIGINAL_STREAM),
        original_seq=_int(h.get(dlq.ORIGINAL_SEQ)),
        consumer=h.get(dlq.CONSUMER),
        deliveries=_int(h.get(dlq.DELIVERIES)),
        reason=h.get(dlq.REASON, ""),
        event_id=h.get("B9-Event-Id"),
        failed_at=h.get(dlq.FAILED_AT),
        stored_at=msg.time,
        size=len(data),
        data=data.decode("utf-8", errors="replace") if with_data else None,
        headers=h if with_data else None,
    )


class DlqAdmin:
    def __init__(self, js: JetStreamContext, topology: Topology) -> None:
        self.js = js
        self.topology = topology
        self.stream = topology.stream("DLQ")

    def filter_subject(self, type_pattern: str | None) -> str:
        """Wire subject filter for an event-type pattern (``subreddit.*``, ``>``), or every DLQ subject."""
        return self.topology.dlq_subject(type_pattern or ">")

    async def depth(self) -> int:
        info = await self.js.stream_info(self.stream)
        return int(info.state.messages)

    async def _next(self, seq: int, subject: str) -> RawStreamMsg | None:
        try:
            return await self.js.get_msg(self.stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return None

    async def scan(
        self,
        *,
        type_pattern: str | None = None,
        reason: str | None = None,
        after_seq: int = 0,
        limit: int = 50,
        with_data: bool = False,
    ) -> list[DeadLetter]:
        """Dead letters in stream order after ``after_seq`` (keyset), filtered by type and reason text."""
        subject = self.filter_subject(type_pattern)
        needle = reason.lower() if reason else None
        out: list[DeadLetter] = []
        seq, scanned = after_seq + 1, 0
        while len(out) < limit and scanned < MAX_SCAN:
            msg = await self._next(seq, subject)
            if msg is None or msg.seq is None:
                break
            scanned += 1
            seq = msg.seq + 1
            item = to_dead_letter(self.topology, msg, with_data=with_data)
            if needle is None or needle in item.reason.lower():
                out.append(item)
        return out

    async def get(self, seq: int) -> DeadLetter | None:
        try:
            msg = await self.js.get_msg(self.stream, seq=seq)
        except NotFoundError:
            return None
        return to_dead_letter(self.topology, msg, with_data=True)

    async def retry(self, seq: int) -> DeadLetter | None:
        """Republish one dead letter to its original subject, then delete it. None if absent."""
        try:
            msg = await self.js.get_msg(self.stream, seq=seq)
        except NotFoundError:
            return None
        item = to_dead_letter(self.topology, msg)
        headers = {
            str(k): str(v)
            for k, v in (msg.headers or {}).items()
            if k not in dlq.DLQ_HEADERS and k not in ("Nats-Expected-Stream",)
        }
        headers[MSG_ID] = f"retry:{self.stream}:{seq}:{item.event_id or ''}"
        await self.js.publish(item.original_subject, msg.data or b"", headers=headers, timeout=5.0)
        await self.js.delete_msg(self.stream, seq)
        return item

    async def retry_all(
        self, *, type_pattern: str | None = None, reason: str | None = None, limit: int = 10_000
    ) -> int:
        done, after = 0, 0
        while done < limit:
            batch = await self.scan(
                type_pattern=type_pattern,
                reason=reason,
                after_seq=after,
                limit=min(256, limit - done),
            )
            if not batch:
                break
            for item in batch:
                if await self.retry(item.seq) is not None:
                    done += 1
                after = item.seq
        return done

    async def purge(self, *, type_pattern: str | None = None) -> int:
        """Delete every dead letter (or those of one type pattern). Returns how many went."""
        before = await self.depth()
        if type_pattern:
            await self.js.purge_stream(self.stream, subject=self.filter_subject(type_pattern))
        else:
            await self.js.purge_stream(self.stream)
        return before - await self.depth()


def counts_by_type(items: list[DeadLetter]) -> Iterator[tuple[str, int]]:
    seen: dict[str, int] = {}
    for it in items:
        seen[it.type] = seen.get(it.type, 0) + 1
    yield from sorted(seen.items())


__all__ = ["DeadLetter", "DlqAdmin", "subject_matches", "to_dead_letter"]
