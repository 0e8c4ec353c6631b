"""The ``control`` KV key ``scraper.reddit``: watched, applied the moment it changes.

Value (JSON): ``{"enabled": true, "interval_seconds": 300, "batch_size": 5,
"requests_per_minute": 100}``. A missing key or a deleted one means the defaults; a value
that does not decode is logged and ignored (the last good one stays).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from typing import Annotated

import msgspec
from nats.errors import TimeoutError as NatsTimeout
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

CONTROL_KEY = "scraper.reddit"


class ScraperDisabled(Exception):
    """Raised instead of sending a request while the scraper is disabled."""


class ControlConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    enabled: bool = True
    interval_seconds: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    requests_per_minute: Annotated[float, msgspec.Meta(gt=0)] = 100.0


_decoder = msgspec.json.Decoder(ControlConfig)


class ControlState:
    """The current control values, with events that wake waiters when they change."""

    def __init__(self, config: ControlConfig | None = None) -> None:
        self.config = config or ControlConfig()
        self.revision = 0
        self._enabled = asyncio.Event()
        self._disabled = asyncio.Event()
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[ControlConfig], None]] = []
        self._sync()

    def _sync(self) -> None:
        if self.config.enabled:
            self._enabled.set()
            self._disabled.clear()
        else:
            self._disabled.set()
            self._enabled.clear()

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def on_change(self, fn: Callable[[ControlConfig], None]) -> None:
        self._listeners.append(fn)

    def apply(self, config: ControlConfig, revision: int = 0) -> None:
        old = self.config
        self.config, self.revision = config, revision
        self._sync()
        if old != config:
            log.info("control changed", extra={"control": msgspec.to_builtins(config)})
            for fn in self._listeners:
                fn(config)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_enabled(self) -> None:
        await self._enabled.wait()

    def check(self) -> None:
        if not self.config.enabled:
            raise ScraperDisabled("scraper disabled in control KV")

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise ScraperDisabled as soon as the scraper is disabled."""
        self.check()
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._disabled.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise ScraperDisabled("scraper disabled in control KV")

    async def wait_changed(self, seconds: float) -> bool:
        """Wait for any control change; True if one came within ``seconds``."""
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        return True


def decode_control(raw: bytes | None) -> ControlConfig | None:
    if not raw:
        return ControlConfig()
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("control value ignored: %s", exc)
        return None


async def watch_control(
    kv: KeyValue, state: ControlState, *, key: str = CONTROL_KEY
) -> Callable[[], Awaitable[None]]:
    """Start a watch and return the loop that applies every change (run it as an App loop)."""
    watcher = await kv.watch(key)

    async def loop() -> None:
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=60)
                except NatsTimeout:
                    continue
                if entry is None:  # end of the initial values
                    continue
                deleted = entry.operation in ("DEL", "PURGE")
                cfg = ControlConfig() if deleted else decode_control(entry.value)
                if cfg is not None:
                    state.apply(cfg, entry.revision or 0)
        finally:
            with suppress(Exception):
                await watcher.stop()

    # Apply the current value before anything starts, so work begins with the right settings.
    try:
        first = await watcher.updates(timeout=5)
        if first is not None:
            deleted = first.operation in ("DEL", "PURGE")
            cfg = ControlConfig() if deleted else decode_control(first.value)
            if cfg is not None:
                state.apply(cfg, first.revision or 0)
    except NatsTimeout:
        pass
    return loop


# Set in the cycle's tasks: their requests wait while on-demand commands are being served.
LOW_PRIORITY: ContextVar[bool] = ContextVar("reddit_low_priority", default=False)


class Priority:
    """Commands in progress; cycle requests wait until there are none."""

    def __init__(self) -> None:
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    async def wait_turn(self) -> None:
        if LOW_PRIORITY.get():
            await self._idle.wait()
