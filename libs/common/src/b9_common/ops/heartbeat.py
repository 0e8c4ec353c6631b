"""A heartbeat per replica in the ``heartbeats`` KV bucket (entries expire with the bucket TTL)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)
INTERVAL = 5.0


class Beat(msgspec.Struct, kw_only=True):
    service: str
    replica: str
    version: str
    host: str
    pid: int
    started_at: datetime
    at: datetime
    status: str = "running"
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class Buckets(Protocol):
    async def heartbeat_kv(self, js: JetStreamContext) -> KeyValue: ...


class Host(Protocol):
    """What a heartbeat needs of its service (``b9_common.service.Runtime`` is one)."""

    @property
    def service(self) -> str: ...
    @property
    def replica(self) -> str: ...
    @property
    def js(self) -> JetStreamContext: ...
    @property
    def topology(self) -> Buckets: ...


class Heartbeat:
    def __init__(self, rt: Host, version: str, status: Callable[[], dict[str, Any]] | None) -> None:
        self.rt = rt
        self.version = version
        self.status = status
        self.key = f"{rt.service}.{rt.replica}".replace(" ", "_")
        self.started = datetime.now(UTC)
        self.kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None

    def beat(self) -> Beat:
        detail = self.status() if self.status else {}
        return Beat(
            service=self.rt.service, replica=self.rt.replica, version=self.version,
            host=socket.gethostname(), pid=os.getpid(), started_at=self.started,
            at=datetime.now(UTC), status=str(detail.pop("status", "running")), detail=detail,
        )

    async def start(self) -> None:
        self.kv = await self.rt.topology.heartbeat_kv(self.rt.js)
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def _run(self) -> None:
        assert self.kv is not None
        while True:
            t0 = time.monotonic()
            try:
                await self.kv.put(self.key, msgspec.json.encode(self.beat()))
            except Exception as exc:
                log.debug("heartbeat not written: %s", exc)
            await asyncio.sleep(max(0.5, INTERVAL - (time.monotonic() - t0)))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.kv is not None:
            try:
                await self.kv.delete(self.key)
            except Exception:
                pass
