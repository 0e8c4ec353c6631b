"""Upstream request budgets, applied at once when the control value changes.

- ``RateLimiter``: in this process, a minimum gap between calls and at most ``per_hour``
  calls in any sliding hour (0 = no budget); ``acquire(priority=True)`` (commands) goes
  before every waiting cycle call; ``set_budget`` wakes waiting callers to re-check.
- ``SharedBudget``: a token bucket in a KV key that every replica draws from, updated with
  compare-and-set (``kv.update(last=revision)``); ``rate()`` is read on every take, so a new
  budget applies at once. Sleeps are the control's (cut short by a disable). When NATS is
  unreachable it lets calls through (the caller's local pacing still holds).
- ``follow_budget``: the ``b9_upstream_budget_per_minute`` gauge, kept to the control value.
- ``parse_retry_after``: a ``Retry-After`` header (seconds or an HTTP date), capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_common.events.control import C
from b9_common.ops.metrics import UPSTREAM_BUDGET
from b9_common.scraping.control import ControlWatch

log = logging.getLogger(__name__)
HOUR = 3600.0


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, cap))


def follow_budget(control: ControlWatch[C], upstream: str, per_minute: Callable[[C], float]) -> None:
    """Show the budget (per minute) on the ``upstream`` gauge now and after every change."""
    gauge = UPSTREAM_BUDGET.labels(upstream)
    gauge.set(per_minute(control.config))
    control.on_change(lambda cfg: gauge.set(per_minute(cfg)))


class RateLimiter:
    def __init__(self, min_interval: float = 0.0, per_hour: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_interval, self.per_hour = min_interval, per_hour
        self.clock = clock
        self._calls: deque[float] = deque()
        self._cond = asyncio.Condition()
        self._priority_waiting = 0
        self.waiting = 0
        self._wakers: set[asyncio.Task[None]] = set()

    def calls_last_hour(self) -> int:
        self._trim(self.clock())
        return len(self._calls)

    def _trim(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - HOUR:
            self._calls.popleft()

    def _delay(self, now: float) -> float:
        self._trim(now)
        delay = self._calls[-1] + self.min_interval - now if self._calls else 0.0
        if self.per_hour > 0 and len(self._calls) >= self.per_hour:
            delay = max(delay, self._calls[-self.per_hour] + HOUR - now)
        return delay

    def exhausted(self) -> bool:
        return self.per_hour > 0 and self.calls_last_hour() >= self.per_hour

    def set_budget(self, per_hour: int) -> None:
        """Apply a new budget now: waiting callers re-check at once."""
        self.per_hour = per_hour
        task = asyncio.get_running_loop().create_task(self._wake())
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def acquire(self, priority: bool = False) -> None:
        self.waiting += 1
        self._priority_waiting += priority
        try:
            async with self._cond:
                while True:
                    if not priority and self._priority_waiting:
                        await self._cond.wait()
                        continue
                    delay = self._delay(self.clock())
                    if delay <= 0:
                        self._calls.append(self.clock())
                        self._cond.notify_all()
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._cond.wait(), delay)
        finally:
            self.waiting -= 1
            if priority:
                self._priority_waiting -= 1
                async with self._cond:
                    self._cond.notify_all()


class _Bucket(msgspec.Struct):
    tokens: float
    at: float  # wall clock seconds


class SharedBudget:
    """Token bucket in KV: ``rate()`` tokens per second shared by every replica, small burst."""

    def __init__(self, kv: KeyValue | None, control: ControlWatch[Any], rate: Callable[[], float],
                 *, key: str = "budget", burst_seconds: float = 5.0) -> None:
        self.kv, self.control, self.key, self.rate = kv, control, key, rate
        self.burst_seconds = burst_seconds
        self.tokens_seen: float | None = None
        self.conflicts = 0

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
        rate = self.rate()
        cap = max(1.0, rate * self.burst_seconds)
        for _ in range(20):
            now = time.time()
            try:
                entry = await self.kv.get(self.key)
                state = msgspec.json.decode(entry.value or b"", type=_Bucket)
                revision: int | None = entry.revision
            except KeyNotFoundError:
                state, revision = _Bucket(tokens=cap, at=now), None
            except msgspec.DecodeError:
                state, revision = _Bucket(tokens=cap, at=now), -1
            except Exception as exc:  # NATS unavailable: fall back to local pacing
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
            except Exception as exc:
                log.warning("shared budget unavailable, pacing locally: %s", exc)
                return 0.0
        return 0.05
