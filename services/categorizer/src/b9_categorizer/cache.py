"""The result cache: key -> content hash of the last published categorization.

Model results are remembered in a NATS KV bucket of the service's own
(``<ns>_categorizer_cache``), so replicas share it and it survives restarts: content that
is unchanged (same text, taxonomy, model and prompt) is never sent to the model again.
Every lookup first checks a bounded in-process map (keyed ``<kind>.<key>``, the item's own
key: no escaping needed there); rule-based results are only kept there (classifying costs
less than a KV round trip).
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from b9_common.jetstream.topology import Topology, ensure_kv
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

BUCKET = "categorizer_cache"
_SAFE = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")


def kv_key(kind: str, key: str) -> str:
    if _SAFE.fullmatch(key):
        return f"{kind}.{key}"
    return f"{kind}.h.{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"


async def open_bucket(js: JetStreamContext, topology: Topology) -> KeyValue:
    return await ensure_kv(
        js,
        KeyValueConfig(
            bucket=topology.bucket(BUCKET),
            history=1,
            replicas=topology.replicas,
            description="categorizer: content hash of the last result per subreddit/creator",
        ),
    )


class ResultCache:
    def __init__(
        self, kv: KeyValue | None, *, local_max: int = 200_000, concurrency: int = 64
    ) -> None:
        self.kv = kv
        self.local: dict[str, str] = {}
        self.local_max = local_max
        self._sem = asyncio.Semaphore(concurrency)

    def _remember_local(self, k: str, h: str) -> None:
        local = self.local
        local.pop(k, None)
        local[k] = h
        if len(local) > self.local_max:
            del local[next(iter(local))]

    async def _kv_get(self, k: str) -> str | None:
        assert self.kv is not None
        async with self._sem:
            try:
                entry = await self.kv.get(k)
            except KeyNotFoundError:
                return None
        return entry.value.decode() if entry.value else None

    async def unchanged(
        self, kind: str, items: list[tuple[str, str]], *, shared: bool
    ) -> list[bool]:
        """For each (key, hash): was exactly this content categorized and published already?"""
        local = self.local
        prefix = kind + "."
        out = [local.get(prefix + k) == h for k, h in items]
        if shared and self.kv is not None:
            misses = [i for i, hit in enumerate(out) if not hit]
            found = await asyncio.gather(*(self._kv_get(kv_key(kind, items[i][0])) for i in misses))
            for i, stored in zip(misses, found, strict=True):
                if stored == items[i][1]:
                    out[i] = True
                    self._remember_local(prefix + items[i][0], stored)
        return out

    async def remember(self, kind: str, items: list[tuple[str, str]], *, shared: bool) -> None:
        prefix = kind + "."
        for k, h in items:
            self._remember_local(prefix + k, h)
        if shared and self.kv is not None:
            kv = self.kv

            async def put(k: str, h: str) -> None:
                async with self._sem:
                    await kv.put(k, h.encode())

            await asyncio.gather(*(put(kv_key(kind, k), h) for k, h in items))
