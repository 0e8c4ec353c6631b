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
from collections.abc import Callable

import msgspec
from b9_common.jetstream.topology import Topology, ensure_kv
from b9_common.scraping.claims import LeaseClaims
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


# name, TTL (0: none), what it holds
BUCKETS = (
    ("ig_state", 0.0, "per-creator state"),
    ("ig_known", 0.0, "usernames published"),
    ("ig_claims", 14 * 86_400.0, "cycle work claims"),
)


async def open_buckets(
    js: JetStreamContext, topology: Topology
) -> tuple[KeyValue, KeyValue, KeyValue]:
    state, known, claims = [
        await ensure_kv(js, KeyValueConfig(
            bucket=topology.bucket(name), history=1, replicas=topology.replicas, ttl=ttl or None,
            description=f"instagram-scraper: {what}",
        ))
        for name, ttl, what in BUCKETS
    ]
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


class Claims(LeaseClaims):
    """``ig_claims`` keys ``c.<ig_user_id>`` (b9_common.scraping.claims.LeaseClaims: due when
    never done, done longer than ``interval`` ago, failed longer than ``retry_after`` ago, or
    running longer than ``lease`` ago)."""

    def key(self, item: str) -> str:
        return _key("c", item)
