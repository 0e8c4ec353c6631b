"""People's decisions: publish them to DECISIONS and answer once persistence has stored them.

The gateway never writes the read model. A route builds one decision event per entity (a bulk
action shares one ``batch`` id), publishes them, and waits until persistence announces their ids
on core NATS (``Topology.decisions_applied_subject``) — with a read of ``decision_log`` every
``POLL`` seconds as a fallback for a missed announcement — so a person who clicks "Ok" and
reloads sees "Ok". If they are not stored within ``timeout`` the answer says so (``stored:
false``, HTTP 202) with the decision ids; the live feed confirms them later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import msgspec
from b9_common.events import new_id
from b9_common.jetstream.publisher import Publisher
from b9_readmodel.decisions import logged_ids
from fastapi import HTTPException
from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription

from b9_gateway.auth import actor_of
from b9_gateway.http import JSON
from b9_gateway.openapi import doc
from b9_gateway.pool import FairPool
from b9_gateway.schemas import BulkResult

log = logging.getLogger(__name__)

POLL = 0.25


def new_model_id() -> int:
    """A model id chosen by the publisher: milliseconds * 1024 + 10 random bits (< 2**53, JS-safe)."""
    return int(time.time() * 1000) * 1024 + random.randrange(1024)


class Decider:
    def __init__(self, nc: NATS, publisher: Publisher, pool: FairPool, subject: str,
                 timeout: float = 5.0) -> None:
        self.nc, self.publisher, self.pool, self.subject = nc, publisher, pool, subject
        self.timeout = timeout
        self._waiting: dict[str, asyncio.Future[str | None]] = {}  # id -> None (stored) or why refused
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.subject, cb=self._on_applied)

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # connection already closing
                pass
            self._sub = None

    async def _on_applied(self, msg: Any) -> None:
        try:
            note = msgspec.json.decode(msg.data, type=Applied)
        except msgspec.DecodeError:
            return
        for id_, reason in [*((i, None) for i in note.stored), *note.refused.items()]:
            fut = self._waiting.pop(id_, None)
            if fut is not None and not fut.done():
                fut.set_result(reason)

    async def decide(self, payloads: Sequence[Any]) -> tuple[list[str], bool]:
        """Publish the decisions; return their ids and whether all were stored in time.

        Raises ``Refused`` when persistence refused one (it is in DLQ with the same reason)."""
        if not payloads:
            return [], True
        envs = [self.publisher.envelope(p) for p in payloads]
        loop = asyncio.get_running_loop()
        futs = {e.id: loop.create_future() for e in envs}
        self._waiting.update(futs)
        try:
            if len(envs) == 1:
                await self.publisher.publish_envelope(envs[0])
            else:
                await asyncio.gather(*(self.publisher.publish_envelope(e) for e in envs))
            stored = await self._wait(futs)
        finally:
            for id_ in futs:
                self._waiting.pop(id_, None)
        refused = {i: f.result() for i, f in futs.items() if f.done() and f.result() is not None}
        if refused:
            raise Refused(refused)
        return [e.id for e in envs], stored

    async def _wait(self, futs: dict[str, asyncio.Future[str | None]]) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        pending = {i for i, f in futs.items() if not f.done()}
        while pending:
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.wait([futs[i] for i in pending], timeout=min(POLL, left))
            pending = {i for i in pending if not futs[i].done()}
            if pending and loop.time() < deadline:
                pending -= await logged_ids(self.pool, list(pending))
        return True


class Applied(msgspec.Struct):
    """What persistence announces after each batch of decisions."""

    stored: list[str] = []
    refused: dict[str, str] = {}


class Refused(HTTPException):
    """Persistence refused a decision (e.g. two models created with one name at once): 409 with why."""

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__(409, detail="; ".join(f"decision {i}: {r}" for i, r in reasons.items()))
        self.reasons = reasons


def new_batch(n: int) -> str | None:
    """A bulk action's shared id (None for a single decision)."""
    return new_id() if n > 1 else None


def decided(ids: list[str], stored: bool, **body: Any) -> JSON:
    """The answer to a decision: 200 once stored, 202 (with the ids to follow) if not yet."""
    return JSON({**body, "decisions": ids, "stored": stored}, status_code=200 if stored else 202)


# OpenAPI responses of a decision route.
DECIDED = {**doc(BulkResult, description="Stored: a reload shows it"),
           **doc(BulkResult, status=202, description="Published but not stored within the timeout")}


__all__ = ["DECIDED", "Decider", "Refused", "actor_of", "decided", "new_batch", "new_model_id"]
