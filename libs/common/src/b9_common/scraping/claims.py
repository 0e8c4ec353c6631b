"""Work claims in a KV bucket, so replicas share a cycle without doing a target twice.

- ``take``/``release``: a claim is a ``kv.create`` -- exactly one replica wins it; deleting it
  hands the target back (its work was interrupted).
- ``LeaseClaims``: a claim records ``running``/``done``/``failed`` and when; a target is due
  again when never done, done longer than ``interval`` ago, failed longer than ``retry_after``
  ago, or running longer than ``lease`` ago (its replica died). Taken with a create or a
  compare-and-set update, so a race has one winner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)


async def take(kv: KeyValue, key: str, value: bytes = b"-") -> bool:
    """Claim ``key``: True for the one caller that created it, False for everyone else."""
    try:
        await kv.create(key, value or b"-")
        return True
    except KeyWrongLastSequenceError:
        return False


async def release(kv: KeyValue, key: str) -> None:
    """Give a claim back (best effort: a claim left behind only delays the target)."""
    try:
        await kv.delete(key)
    except Exception as exc:
        log.warning("could not release claim %s: %s", key, exc)


class Claim(msgspec.Struct, kw_only=True):
    state: str  # running | done | failed
    replica: str
    at: float


class LeaseClaims:
    """Due-based claims; ``key(item)`` names an item's KV key (override it to escape)."""

    _dec = msgspec.json.Decoder(Claim)

    def __init__(self, kv: KeyValue, replica: str, *, lease: float = 900.0,
                 retry_after: float = 900.0, clock: Callable[[], float] = time.time) -> None:
        self.kv, self.replica, self.clock = kv, replica, clock
        self.lease, self.retry_after = lease, retry_after

    def key(self, item: str) -> str:
        return item

    def _value(self, state: str) -> bytes:
        return msgspec.json.encode(Claim(state=state, replica=self.replica, at=self.clock()))

    def _due(self, c: Claim, interval: float) -> bool:
        limit = {"done": interval, "failed": min(interval, self.retry_after)}.get(c.state, self.lease)
        return self.clock() - c.at >= limit

    async def try_claim(self, item: str, interval: float) -> bool:
        key = self.key(item)
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return await take(self.kv, key, self._value("running"))
        try:
            current = self._dec.decode(entry.value or b"")
        except msgspec.DecodeError:
            current = Claim(state="failed", replica="?", at=0.0)
        if not self._due(current, interval):
            return False
        try:
            await self.kv.update(key, self._value("running"), last=entry.revision)
            return True
        except KeyWrongLastSequenceError:
            return False

    async def finish(self, item: str, ok: bool) -> None:
        await self.kv.put(self.key(item), self._value("done" if ok else "failed"))
