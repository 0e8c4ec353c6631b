"""The ``scraper.instagram`` key of the ``control`` KV bucket, watched so changes apply at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)
CONTROL_KEY = "scraper.instagram"


class ControlConfig(msgspec.Struct, kw_only=True):
    enabled: bool = True
    interval_seconds: float = 4 * 3600.0  # the original waited 4 h between cycles
    batch_size: int = 10  # creators scraped at the same time
    requests_per_hour: int = 3600  # provider call budget; 0 = no budget (pacing only)
    viral_min_views: int = 50_000
    viral_multiplier: float = 5.0
    cost_per_request: float = 0.0003
    related_per_cycle: int = 0  # approved creators given related discovery after each pass


_decoder = msgspec.json.Decoder(ControlConfig)


def decode(raw: bytes | None) -> ControlConfig:
    if not raw:
        return ControlConfig()
    cfg = _decoder.decode(raw)
    cfg.batch_size = max(1, min(cfg.batch_size, 100))
    cfg.interval_seconds = max(1.0, cfg.interval_seconds)
    return cfg


class Control:
    """Current config plus an event that fires on every change."""

    def __init__(self, kv: KeyValue | None = None, key: str = CONTROL_KEY) -> None:
        self.kv = kv
        self.key = key
        self.current = ControlConfig()
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[ControlConfig], None]] = []
        self._task: asyncio.Task[None] | None = None

    def on_change(self, fn: Callable[[ControlConfig], None]) -> None:
        self._listeners.append(fn)
        fn(self.current)

    def apply(self, raw: bytes | None) -> None:
        try:
            cfg = decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("control %s ignored (keeping the previous one): %s", self.key, exc)
            return
        self.current = cfg
        for fn in self._listeners:
            fn(cfg)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        log.info("control applied", extra={"control": msgspec.to_builtins(cfg)})

    async def wait_change(self, timeout: float | None = None) -> bool:
        """Wait until the config changes (True) or ``timeout`` passes (False)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def start(self) -> None:
        assert self.kv is not None
        with contextlib.suppress(Exception):  # publish the defaults for the dashboard if absent
            await self.kv.create(self.key, msgspec.json.encode(ControlConfig()))
        watcher = await self.kv.watch(self.key)
        first = await watcher.updates(timeout=5)
        if first is not None:
            self.apply(first.value)
        self._task = asyncio.create_task(self._watch(watcher), name="control-watch")

    async def _watch(self, watcher: object) -> None:
        while True:
            try:
                entry = await watcher.updates(timeout=60)  # type: ignore[attr-defined]
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("control watch failed, retrying: %s", exc)
                await asyncio.sleep(2)
                continue
            if entry is None:
                continue
            if entry.operation in ("DEL", "PURGE"):
                self.apply(None)
            else:
                self.apply(entry.value)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
