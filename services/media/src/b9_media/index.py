"""What has been stored: assets by object key, and source ids already seen.

Lives in a NATS KV bucket of the service's own (``media_sources``), so every replica
shares it. Keys: ``src.<sha256(kind|source_id)>`` -> the object key of that item;
``asset/<object key>`` -> the ``Asset`` record (what ``media.stored`` reports).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import msgspec
from b9_common.jetstream.topology import Topology, ensure_kv
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from b9_media.errors import TransientError

BUCKET = "media_sources"


class Asset(msgspec.Struct, kw_only=True):
    storage_key: str
    content_hash: str
    content_type: str
    bytes_in: int
    bytes_out: int
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    poster_key: str | None = None
    # "<kind>|<source id>" of the item whose processing produced the object: a redo of that
    # same item (after a crash between upload and announcement) is not a deduplication.
    first_source: str | None = None


def _src_key(kind: str, source_id: str) -> str:
    return "src." + hashlib.sha256(f"{kind}|{source_id}".encode()).hexdigest()[:48]


def _asset_key(storage_key: str) -> str:
    return "asset/" + storage_key


class Index(Protocol):
    async def source(self, kind: str, source_id: str) -> str | None: ...
    async def remember_source(self, kind: str, source_id: str, storage_key: str) -> None: ...
    async def asset(self, storage_key: str) -> Asset | None: ...
    async def remember_asset(self, asset: Asset) -> None: ...


class MemoryIndex:
    """In-process index for unit tests and the benchmark."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def source(self, kind: str, source_id: str) -> str | None:
        raw = self.data.get(_src_key(kind, source_id))
        return raw.decode() if raw else None

    async def remember_source(self, kind: str, source_id: str, storage_key: str) -> None:
        self.data[_src_key(kind, source_id)] = storage_key.encode()

    async def asset(self, storage_key: str) -> Asset | None:
        raw = self.data.get(_asset_key(storage_key))
        return msgspec.json.decode(raw, type=Asset) if raw else None

    async def remember_asset(self, asset: Asset) -> None:
        self.data[_asset_key(asset.storage_key)] = msgspec.json.encode(asset)


class KvIndex:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, topology: Topology) -> KvIndex:
        kv = await ensure_kv(
            js,
            KeyValueConfig(
                bucket=topology.bucket(BUCKET),
                history=1,
                replicas=topology.replicas,
                description="media: source id -> object key, object key -> asset record",
            ),
        )
        return cls(kv)

    async def _get(self, key: str) -> bytes | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        except Exception as exc:
            raise TransientError(f"media index unavailable: {exc}") from exc
        return entry.value or None

    async def _put(self, key: str, value: bytes) -> None:
        try:
            await self.kv.put(key, value)
        except Exception as exc:
            raise TransientError(f"media index unavailable: {exc}") from exc

    async def source(self, kind: str, source_id: str) -> str | None:
        raw = await self._get(_src_key(kind, source_id))
        return raw.decode() if raw else None

    async def remember_source(self, kind: str, source_id: str, storage_key: str) -> None:
        await self._put(_src_key(kind, source_id), storage_key.encode())

    async def asset(self, storage_key: str) -> Asset | None:
        raw = await self._get(_asset_key(storage_key))
        return msgspec.json.decode(raw, type=Asset) if raw else None

    async def remember_asset(self, asset: Asset) -> None:
        await self._put(_asset_key(asset.storage_key), msgspec.json.encode(asset))
