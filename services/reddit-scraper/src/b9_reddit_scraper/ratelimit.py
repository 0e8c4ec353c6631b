"""Request pacing: per replica from Reddit's ``x-ratelimit-*`` headers, across replicas from KV.

``HeaderPacer`` spreads what the window has left over the time it has left (like prawcore's
RateLimiter, but counting the requests still in flight), so it slows down before a 429,
never after. Reddit sends ``x-ratelimit-reset`` as whole seconds (floored), so the pacer
keeps the latest lower bound of the window's end seen across responses and, once the
window is spent, waits until just past it.

``SharedBudget`` is a token bucket in a KV key, updated with optimistic concurrency
(``kv.update(last=revision)``): every replica draws from one ``requests_per_minute``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_reddit_scraper.control import ControlState

log = logging.getLogger(__name__)

WINDOW_END_MARGIN = 0.25  # seconds past the estimated window end before using a fresh window


class HeaderPacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.next_at = 0.0           # earliest moment the next request may go
        self.interval = 0.0          # spacing between requests in the current window
        self.blocked_until = 0.0     # 429 retry-after or an exhausted window
        self.in_flight = 0
        self.remaining: float | None = None
        self.used: int | None = None
        self.reset: float | None = None
        self.window_end = 0.0        # lower bound of the current window's end (monotonic)

    async def reserve(self, control: ControlState) -> None:
        """Take the next slot and sleep until it (raises ScraperDisabled if disabled meanwhile)."""
        now = self.clock()
        slot = max(now, self.next_at, self.blocked_until)
        self.next_at = slot + self.interval
        self.in_flight += 1
        try:
            await control.sleep(slot - now)
        except BaseException:
            self.in_flight -= 1
            raise

    def done(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def block(self, seconds: float) -> None:
        """A 429: nothing goes out for ``seconds``."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    def update(self, headers: Mapping[str, str]) -> None:
        """Read the window from a response (call ``done()`` first)."""
        now = self.clock()
        try:
            remaining = float(headers["x-ratelimit-remaining"])
            used = int(float(headers.get("x-ratelimit-used", "0")))
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            if self.remaining is not None:  # no headers: count the call ourselves
                self.remaining -= 1
                self.used = (self.used or 0) + 1
            return
        new_window = self.used is not None and used < self.used and reset > (self.reset or 0)
        if new_window or now + reset > self.window_end + 1.0:
            self.window_end = now + reset
        else:
            self.window_end = max(self.window_end, now + reset)
        self.remaining, self.used, self.reset = remaining, used, reset
        left = remaining - self.in_flight
        time_left = max(0.0, self.window_end - now)
        if left < 1:
            self.interval = 0.0
            self.blocked_until = max(self.blocked_until, self.window_end + WINDOW_END_MARGIN)
            self.next_at = max(self.next_at, self.blocked_until)
            return
        self.interval = time_left / left
        # re-space the next request from now with the new interval (it may be shorter or longer)
        self.next_at = min(max(self.next_at, now), now + self.interval)

    def snapshot(self) -> dict[str, float | int | None]:
        return {"remaining": self.remaining, "used": self.used, "reset": self.reset,
                "interval_s": round(self.interval, 3)}


class _Bucket(msgspec.Struct):
    tokens: float
    at: float  # wall clock seconds


class SharedBudget:
    """Token bucket in KV: ``requests_per_minute`` shared by every replica, small burst."""

    def __init__(self, kv: KeyValue | None, control: ControlState, *, key: str = "budget",
                 burst_seconds: float = 5.0) -> None:
        self.kv = kv
        self.control = control
        self.key = key
        self.burst_seconds = burst_seconds
        self.tokens_seen: float | None = None
        self.conflicts = 0

    @property
    def rate(self) -> float:
        return self.control.config.requests_per_minute / 60.0

    async def acquire(self) -> None:
        while True:
            self.control.check()
            wait = await self._try_take()
            if wait <= 0:
                return
            await self.control.sleep(wait)

    async def _try_take(self) -> float:
        """0 when a token was taken, else seconds until one may be there."""
        if self.kv is None:
            return 0.0
        rate = self.rate
        cap = max(1.0, rate * self.burst_seconds)
        for _ in range(20):
            now = time.time()
            try:
                entry = await self.kv.get(self.key)
                state = msgspec.json.decode(entry.value or b"", type=_Bucket)
                revision: int | None = entry.revision
            except KeyNotFoundError:
                state, revision = _Bucket(tokens=cap, at=now), None
            except (msgspec.DecodeError, msgspec.ValidationError):
                state, revision = _Bucket(tokens=cap, at=now), -1
            except Exception as exc:  # NATS unavailable: fall back to local header pacing
                log.warning("shared budget unavailable, pacing locally: %s", exc)
                return 0.0
            tokens = min(cap, state.tokens + max(0.0, now - state.at) * rate)
            self.tokens_seen = tokens
            if tokens < 1.0:
                return (1.0 - tokens) / rate
            value = msgspec.json.encode(_Bucket(tokens=tokens - 1.0, at=now))
            try:
                if revision is None:
                    await self.kv.create(self.key, value)
                elif revision == -1:
                    await self.kv.put(self.key, value)
                else:
                    await self.kv.update(self.key, value, last=revision)
                return 0.0
            except KeyWrongLastSequenceError:
                self.conflicts += 1
                continue
            except Exception as exc:
                if "wrong last sequence" in str(exc).lower():
                    self.conflicts += 1
                    continue
                log.warning("shared budget unavailable, pacing locally: %s", exc)
                return 0.0
        return 0.05
