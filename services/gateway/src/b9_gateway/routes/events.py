"""Live feed: Server-Sent Events of pipeline events from a core NATS subscription.

One subscription set per client (the event subjects of the catalogue plus the DLQ, or the
one subject pattern asked for), a bounded queue in between (slow clients lose events and
are told how many), and the subscriptions go away when the client disconnects. Events waiting
in the queue go out in one write (up to ``BATCH``): an unfiltered feed at thousands of events/s
took one send, one ``asyncio.wait`` and one timeout scope per event, and starved the other
clients of the worker (their events seconds late, their queues overflowing).

Besides pipeline events the feed carries this gateway's local events (``b9_gateway.feed``):
``control.changed``, ``heartbeat`` and ``replay.progress``. They are never on JetStream; a
``subject`` filter selects them like the others (``subject=replay.progress``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import anyio
import msgspec
from b9_common.events.catalogue import EVENTS
from b9_common.jetstream.dlq_admin import subject_matches
from fastapi import APIRouter, Depends, Query, Request
from nats.aio.msg import Msg
from sse_starlette import EventSourceResponse, ServerSentEvent

from b9_gateway.deps import Deps, get_deps
from b9_gateway.feed import LOCAL_EVENTS

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])
QUEUE = 1000
INLINE_MAX = 4096
BATCH = 200  # events at most in one write to the client


class _Key(msgspec.Struct):
    name: str | None = None
    username: str | None = None
    target: str | None = None
    ig_user_id: str | None = None
    kind: str | None = None
    outcome: str | None = None


class _Head(msgspec.Struct):
    id: str = ""
    type: str = ""
    occurred_at: datetime | None = None
    source: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_head = msgspec.json.Decoder(_Head)
_key = msgspec.json.Decoder(_Key)
_enc = msgspec.json.Encoder()


def summarize(subject: str, type_: str, raw: bytes, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": subject, "type": type_, "size": len(raw)}
    try:
        head = _head.decode(raw)
    except msgspec.DecodeError:
        return out
    out.update(id=head.id, occurred_at=head.occurred_at, source=head.source)
    try:
        key = _key.decode(bytes(head.data))
        out["key"] = {k: v for k, v in msgspec.structs.asdict(key).items() if v is not None}
    except msgspec.DecodeError:
        pass
    if full or len(raw) <= INLINE_MAX:
        out["data"] = head.data
    return out


def _frame(event: str, data: Any, id_: str | None = None) -> bytes:
    return ServerSentEvent(data=_enc.encode(data).decode(), event=event, id=id_).encode()


def subjects_for(deps: Deps, pattern: str | None) -> list[str]:
    if pattern:
        return [deps.topology.subject(pattern)]
    return [deps.topology.subject(t) for t in EVENTS] + [deps.topology.dlq_subject(">")]


@router.get(
    "/events",
    summary="Server-Sent Events of pipeline events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def events(
    request: Request,
    subject: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_*>-]+)*$",
            description="Event type or pattern (first token literal): creator.scraped, subreddit.*, dlq.>",
        ),
    ] = None,
    full: Annotated[bool, Query(description="Always include the payload")] = False,
    max_events: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86_400)] = None,
    deps: Deps = Depends(get_deps),
) -> EventSourceResponse:
    queue: asyncio.Queue[Msg | tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE)
    dropped = 0

    def put(item: Msg | tuple[str, dict[str, Any]]) -> None:
        nonlocal dropped
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            dropped += 1

    async def on_msg(msg: Msg) -> None:
        put(msg)

    def on_local(type_: str, data: dict[str, Any]) -> None:
        if subject is None or subject_matches(subject, type_):
            put((type_, data))

    local = subject is None or any(subject_matches(subject, t) for t in LOCAL_EVENTS)

    async def stream() -> AsyncIterator[dict[str, Any] | bytes]:
        nonlocal dropped
        sent = 0
        subs = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds if max_seconds else None
        closing = asyncio.ensure_future(deps.closing.wait())
        getter: asyncio.Future[Msg | tuple[str, dict[str, Any]]] | None = None
        try:
            for pattern in subjects_for(deps, subject):
                subs.append(await deps.nc.subscribe(pattern, cb=on_msg))
            if local:
                await deps.hub.subscribe(on_local)
            with contextlib.suppress(Exception):
                await deps.nc.flush(timeout=2)  # "ready" means the server has our subscriptions
            yield {
                "event": "ready",
                "data": _enc.encode({"subjects": [s.subject for s in subs]}).decode(),
            }
            while max_events is None or sent < max_events:
                if queue.empty():
                    timeout = None if deadline is None else deadline - loop.time()
                    if timeout is not None and timeout <= 0:
                        break
                    getter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait({getter, closing}, timeout=timeout,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if getter not in done:
                        break
                    items, getter = [getter.result()], None
                elif closing.done() or (deadline is not None and loop.time() >= deadline):
                    break
                else:
                    items = [queue.get_nowait()]
                # what else is waiting goes in the same write: one send for a burst, not one each
                room = BATCH if max_events is None else min(BATCH, max_events - sent)
                while len(items) < room and not queue.empty():
                    items.append(queue.get_nowait())
                chunk = []
                if dropped:
                    chunk.append(_frame("dropped", {"dropped": dropped}))
                    dropped = 0
                for got in items:
                    if isinstance(got, tuple):
                        chunk.append(_frame(got[0], got[1]))
                    else:
                        type_ = deps.topology.type_of(got.subject)
                        item = summarize(got.subject, type_, got.data, full)
                        chunk.append(_frame(type_, item, item.get("id") or None))
                yield b"".join(chunk)
                sent += len(items)
        finally:
            # Nothing of this client may outlive it: a pending queue.get() left behind is
            # "Task was destroyed but it is pending" when the loop closes. When the client goes,
            # sse_starlette cancels its anyio task group, and anyio re-delivers that cancellation
            # at every await of this task: unshielded, the first await below would abort the
            # rest (subscriptions and the listener leaked).
            pending = [f for f in (getter, closing) if f is not None and not f.done()]
            for f in pending:
                f.cancel()
            with anyio.move_on_after(5, shield=True):
                for s in subs:
                    with contextlib.suppress(Exception):
                        await s.unsubscribe()
                await asyncio.gather(*pending, return_exceptions=True)
                if local:
                    await deps.hub.unsubscribe(on_local)
            log.debug("sse client gone", extra={"sent": sent})

    return EventSourceResponse(stream(), ping=15, headers={"X-Accel-Buffering": "no"})
