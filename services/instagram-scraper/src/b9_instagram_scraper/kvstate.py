"""The scraper's own NATS KV buckets: per-creator state, known usernames, work claims.

- ``ig_state``  key ``c.<ig_user_id>``: ``CreatorState`` (follower history, full-fetch done,
  related processed). Updated with compare-and-set so two replicas never lose a sample.
- ``ig_known``  key ``u.<username>``: creators this scraper has already published (discovered
  or scraped), so discovery skips them even before persistence has stored them.
- ``ig_claims`` key ``c.<ig_user_id>``: who scrapes a creator now / when it was last done,
  so replicas share the cycle without duplicates (a claim is a create or a CAS update).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import msgspec
from b9_common.jetstream.topology import Topology, ensure_kv
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_instagram_scraper.growth import CreatorState

log = logging.getLogger(__name__)
_KEY_OK = re.compile(r"[^A-Za-z0-9_\-=]")


def _key(prefix: str, raw: str) -> str:
    # usernames hold letters, digits, '.' and '_'; '.' separates KV tokens, so escape it.
    return f"{prefix}.{_KEY_OK.sub('=', raw.lower())}"


async def open_buckets(
    js: JetStreamContext, topology: Topology
) -> tuple[KeyValue, KeyValue, KeyValue]:
    r = topology.replicas
    state = await ensure_kv(
        js,
        KeyValueConfig(
            bucket=topology.bucket("ig_state"),
            history=1,
            replicas=r,
            description="instagram-scraper: per-creator state",
        ),
    )
    known = await ensure_kv(
        js,
        KeyValueConfig(
            bucket=topology.bucket("ig_known"),
            history=1,
            replicas=r,
            description="instagram-scraper: usernames published",
        ),
    )
    claims = await ensure_kv(
        js,
        KeyValueConfig(
            bucket=topology.bucket("ig_claims"),
            history=1,
            replicas=r,
            ttl=14 * 86_400.0,
            description="instagram-scraper: cycle work claims",
        ),
    )
    return state, known, claims


class StateStore:
    _dec = msgspec.json.Decoder(CreatorState)

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, ig_user_id: str) -> tuple[CreatorState, int | None]:
        try:
            entry = await self.kv.get(_key("c", ig_user_id))
        except KeyNotFoundError:
            return CreatorState(), None
        try:
            return self._dec.decode(entry.value or b"{}"), entry.revision
        except msgspec.DecodeError:
            log.warning("unreadable state for %s: starting afresh", ig_user_id)
            return CreatorState(), entry.revision

    async def update(
        self, ig_user_id: str, change: Callable[[CreatorState], None], attempts: int = 5
    ) -> CreatorState:
        """Read-modify-write with compare-and-set; retried when another replica wrote first."""
        key = _key("c", ig_user_id)
        for _ in range(attempts):
            state, rev = await self.get(ig_user_id)
            change(state)
            data = msgspec.json.encode(state)
            try:
                if rev is None:
                    await self.kv.create(key, data)
                else:
                    await self.kv.update(key, data, last=rev)
                return state
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"state of {ig_user_id} kept changing under us")


class KnownStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def known(self, usernames: list[str]) -> set[str]:
        out = set()
        for name in usernames:
            try:
                await self.kv.get(_key("u", name))
                out.add(name.lower())
            except KeyNotFoundError:
                pass
        return out

    async def add(self, username: str, ig_user_id: str | None) -> None:
        await self.kv.put(_key("u", username), (ig_user_id or "").encode())


class Claim(msgspec.Struct, kw_only=True):
    state: str  # running | done | failed
    replica: str
    at: float


class Claims:
    """A creator is due when never done, done longer than ``interval`` ago, failed longer than
    ``retry_after`` ago, or running longer than ``lease`` ago (its replica died)."""

    _dec = msgspec.json.Decoder(Claim)

    def __init__(
        self,
        kv: KeyValue,
        replica: str,
        *,
        lease: float = 900.0,
        retry_after: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kv, self.replica, self.lease, self.retry_after, self.clock = (
            kv,
            replica,
            lease,
            retry_after,
            clock,
        )

    def _value(self, state: str) -> bytes:
        return msgspec.json.encode(Claim(state=state, replica=self.replica, at=self.clock()))

    def _due(self, c: Claim, interval: float) -> bool:
        age = self.clock() - c.at
        limit = {"done": interval, "failed": min(interval, self.retry_after)}.get(
            c.state, self.lease
        )
        return age >= limit

    async def try_claim(self, ig_user_id: str, interval: float) -> bool:
        key = _key("c", ig_user_id)
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            try:
                await self.kv.create(key, self._value("running"))
                return True
            except KeyWrongLastSequenceError:
                return False
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

    async def finish(self, ig_user_id: str, ok: bool) -> None:
        await self.kv.put(_key("c", ig_user_id), self._value("done" if ok else "failed"))
