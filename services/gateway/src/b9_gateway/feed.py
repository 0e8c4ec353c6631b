"""Gateway-local events for the SSE feed (never published to JetStream).

- ``control.changed``: a key of the ``control`` KV bucket was written or deleted (whoever
  wrote it: this API, another gateway, ``nats kv put``). Data: ``{key, scraper, value,
  revision, deleted}`` (``value`` is the stored JSON, ``scraper`` is set for ``scraper.*``).
- ``heartbeat``: a replica wrote its heartbeat (every few seconds) or removed it on shutdown.
  Data: ``{key, service, replica, status, version, at, detail, revision, deleted}``.
  Expiry by the bucket's TTL is not an event: clients age replicas out themselves.
- ``replay.progress``: a replay's record (KV ``replays``, written by the replica of the
  owning service that runs it) was planned, moved on (at most twice a second) or ended.
  Data: the replay's progress (as ``GET /replays/{id}``); claims and dry runs are not sent.
- ``request.changed``: a followed request's record (KV ``requests``) was written: opened,
  running, done, failed. Data: as ``GET /requests/{id}`` plus ``revision``.

``Hub`` fans these out to the SSE clients of this process. The KV watchers run only
while at least one client is connected: the first subscriber starts them, the last one
to leave stops them. Initial values are skipped (clients read the current state from the
REST routes); only changes are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]
LOCAL_EVENTS = ("control.changed", "heartbeat", "replay.progress", "request.changed")
KV_DELETES = ("DEL", "PURGE")


def _json(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None


def control_event(key: str, value: bytes | None, revision: int | None, op: str | None) -> dict[str, Any]:
    return {
        "type": "control.changed",
        "key": key,
        "scraper": key.split(".", 1)[1] if key.startswith("scraper.") else None,
        "value": _json(value),
        "revision": revision,
        "deleted": op in KV_DELETES,
    }


def heartbeat_event(key: str, value: bytes | None, revision: int | None, op: str | None) -> dict[str, Any]:
    beat = _json(value)
    beat = beat if isinstance(beat, dict) else {}
    return {
        "type": "heartbeat",
        "key": key,
        "service": beat.get("service") or key.split(".", 1)[0],
        "replica": beat.get("replica") or key.split(".", 1)[-1],
        "status": beat.get("status"),
        "version": beat.get("version"),
        "at": beat.get("at"),
        "detail": beat.get("detail") or {},
        "revision": revision,
        "deleted": op in KV_DELETES,
    }


# None: not an event (e.g. a key of the bucket that is not sent)
Builder = Callable[[str, bytes | None, int | None, str | None], dict[str, Any] | None]


class Hub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._buckets: list[tuple[KeyValue, str, Builder]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._armed: list[asyncio.Event] = []

    def watch(self, kv: KeyValue, event: str, build: Builder) -> None:
        """Send ``event`` for every change of ``kv`` while clients listen."""
        self._buckets.append((kv, event, build))

    def publish(self, event: str, data: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, data)
            except Exception:
                log.exception("feed listener failed")

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    async def subscribe(self, listener: Listener, ready_within: float = 5.0) -> None:
        """Listen; returns once the KV watchers have read the current values, so every later
        change is sent (or after ``ready_within`` seconds if NATS is slow to answer)."""
        self._listeners.add(listener)
        if not self._tasks and self._buckets:
            self._armed = [asyncio.Event() for _ in self._buckets]
            self._tasks = [
                asyncio.create_task(self._watch(kv, event, build, armed), name=f"feed-watch:{event}")
                for (kv, event, build), armed in zip(self._buckets, self._armed, strict=True)
            ]
        waits = [asyncio.ensure_future(a.wait()) for a in self._armed if not a.is_set()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=ready_within)
            for w in pending:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def unsubscribe(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        if not self._listeners:
            await self.close()

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, kv: KeyValue, event: str, build: Builder, armed: asyncio.Event) -> None:
        while True:
            try:
                watcher = await kv.watchall()
                try:
                    initial = True
                    async for entry in watcher:
                        if entry is None:  # end of the current values: changes from here on
                            initial = False
                            armed.set()
                            continue
                        if not initial and (data := build(entry.key, entry.value, entry.revision,
                                                          entry.operation)) is not None:
                            self.publish(event, data)
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS reconnecting, bucket recreated: watch again
                log.warning("watching %s failed (%s); retrying", event, exc)
                await asyncio.sleep(1.0)
