"""A scraper's control value, followed from its key in the ``control`` KV bucket.

``ControlWatch`` holds the current value (a Struct of b9_common.events.control) and wakes
waiters when it changes; ``follow(kv, key)`` applies the key's current value before anything
starts and returns the loop that applies every later change (run it as an App loop). A
deleted key means the defaults; a value that does not decode or breaks a limit is logged and
ignored (the last good one stays).

Disabling is seen at once: ``check()`` raises ``ScraperDisabled`` and ``sleep()`` is cut
short by it, so no request is sent once the scraper is stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Generic

import msgspec
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_common.events.control import C, decode_control

log = logging.getLogger(__name__)

WATCH_RETRY_SECONDS = 2.0


class ScraperDisabled(Exception):
    """Raised instead of sending a request (or starting work) while the scraper is disabled."""


class ControlWatch(Generic[C]):
    """The current control value, with events that wake waiters when it changes."""

    def __init__(self, config: C) -> None:
        self.config: C = config
        self.defaults: C = type(config)()
        self.revision = 0
        self._enabled = asyncio.Event()
        self._disabled = asyncio.Event()
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[C], None]] = []
        self._sync()

    def _sync(self) -> None:
        on, off = (self._enabled, self._disabled) if self.config.enabled else (self._disabled, self._enabled)
        on.set()
        off.clear()

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def on_change(self, fn: Callable[[C], None]) -> None:
        """Call ``fn(config)`` whenever the value changes."""
        self._listeners.append(fn)

    def apply(self, config: C, revision: int = 0) -> None:
        old = self.config
        self.config, self.revision = config, revision
        self._sync()
        if old != config:
            log.info("control changed", extra={"control": msgspec.to_builtins(config)})
            for fn in self._listeners:
                fn(config)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def apply_raw(self, raw: bytes | None, revision: int = 0, *, deleted: bool = False) -> bool:
        """Apply a KV value (the defaults when deleted); False if it was not valid (ignored)."""
        try:
            config = type(self.defaults)() if deleted else decode_control(type(self.defaults), raw)
        except msgspec.DecodeError as exc:  # ValidationError included
            log.warning("control value ignored (keeping the previous one): %s", exc)
            return False
        self.apply(config, revision)
        return True

    # -- waiting -------------------------------------------------------------------------
    def check(self) -> None:
        if not self.config.enabled:
            raise ScraperDisabled("scraper disabled in control KV")

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise ScraperDisabled as soon as the scraper is disabled."""
        self.check()
        if seconds <= 0:
            return
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event is set, and the cycle loop would then outlive its shutdown
            async with asyncio.timeout(seconds):
                await self._disabled.wait()
        except TimeoutError:
            return
        raise ScraperDisabled("scraper disabled in control KV")

    async def wait_enabled(self) -> None:
        await self._enabled.wait()

    async def wait_disabled(self) -> None:
        await self._disabled.wait()

    async def wait_changed(self, timeout: float | None = None) -> bool:
        """Wait for the next value applied; True if one came within ``timeout`` seconds."""
        changed = self._changed
        try:
            async with asyncio.timeout(None if timeout is None else max(0.0, timeout)):  # see sleep()
                await changed.wait()
        except TimeoutError:
            return False
        return True

    # -- the KV key ----------------------------------------------------------------------
    async def follow(self, kv: KeyValue, key: str, *,
                     publish_defaults: bool = False) -> Callable[[], Awaitable[None]]:
        """Apply ``key``'s current value now; return the loop that applies every change.

        ``publish_defaults`` writes the defaults when the key is absent (so the key exists for
        whoever lists the bucket); an existing value is never overwritten."""
        if publish_defaults:
            values = {k: v for k, v in msgspec.structs.asdict(self.defaults).items() if v is not None}
            with suppress(KeyWrongLastSequenceError):
                await kv.create(key, msgspec.json.encode(values))
        watcher = await kv.watch(key)
        try:
            first = await watcher.updates(timeout=5)
            if first is not None:
                self._apply_entry(first)
        except NatsTimeout:
            pass

        async def loop() -> None:
            try:
                while True:
                    try:
                        entry = await watcher.updates(timeout=60)
                    except NatsTimeout:
                        continue
                    except Exception as exc:  # a broken connection: the client reconnects
                        log.warning("control watch of %s failed, retrying: %s", key, exc)
                        await asyncio.sleep(WATCH_RETRY_SECONDS)
                        continue
                    if entry is not None:  # None: the end of the initial values
                        self._apply_entry(entry)
            finally:
                with suppress(Exception):
                    await watcher.stop()

        return loop

    def _apply_entry(self, entry: Any) -> None:
        deleted = entry.operation in ("DEL", "PURGE")
        self.apply_raw(entry.value, entry.revision or 0, deleted=deleted)
