"""Upstream request budgets: one algorithm for both scrapers, applied at once when the control
value changes.

``Budget`` is a token bucket: ``rate()`` tokens a second (read on every take, 0 = no budget),
at most ``burst_seconds`` of them saved up. Each call takes one token.

- Every replica draws from one bucket kept in a KV key (``kv``, ``key``), updated with
  compare-and-set, so N replicas together stay within the budget, not N times it. Without a KV,
  or while NATS is unreachable, the replica draws from a bucket of its own (starting full): the
  pacing holds through an outage, each replica then within the whole budget.
- A raised budget applies at once: the bucket's capacity grows and the extra tokens are there
  now; every control change wakes the callers waiting, which re-read ``rate()``.
- ``acquire(priority=True)`` (a command) goes before every non-priority caller waiting in this
  process (the cycle); ``min_interval`` keeps a minimum gap between this replica's calls.
- ``stop_when_disabled``: a disable ends the wait with ``ScraperDisabled`` (the Reddit scraper
  naks commands while disabled); without it calls still go while disabled (Instagram answers
  commands when its cycle is disabled).

The scrapers differ only in parameters: Reddit's budget is a rate (``requests_per_minute``, a
5 s burst) next to the pacing from Reddit's own ``x-ratelimit-*`` headers (its ``HeaderPacer``);
Instagram's is an hourly one (``requests_per_hour``, a burst of six minutes' worth, paced by
``min_interval``). A bucket of ``burst_seconds`` allows ``rate x (burst_seconds + t)`` calls in
any stretch ``t``: Instagram's hour at most 1.1x its budget, the long-run rate the budget.

- ``follow_budget``: the ``b9_upstream_budget_per_minute`` gauge, kept to the control value.
- ``parse_retry_after``: a ``Retry-After`` header (seconds or an HTTP date), capped (both
  scrapers block on a 429 for that long).
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
CAS_TRIES = 20


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


class _Bucket(msgspec.Struct):
    tokens: float
    at: float  # wall clock seconds
    cap: float | None = None  # the capacity it was filled to (None: written before it was kept)

    def refilled(self, rate: float, cap: float, now: float) -> float:
        tokens = self.tokens + max(0.0, now - self.at) * rate
        if self.cap is not None and cap > self.cap:
            tokens += cap - self.cap  # a raised budget: its extra tokens now
        return min(cap, tokens)


class Budget:
    """An upstream's request budget, shared by every replica (see the module docstring)."""

    def __init__(self, rate: Callable[[], float], *, control: ControlWatch[Any] | None = None,
                 kv: KeyValue | None = None, key: str = "budget", burst_seconds: float = 5.0,
                 min_interval: float = 0.0, stop_when_disabled: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.control, self.kv, self.key = rate, control, kv, key
        self.burst_seconds, self.min_interval = burst_seconds, min_interval
        self.stop_when_disabled, self.clock = stop_when_disabled, clock
        self.tokens_seen: float | None = None  # tokens left after the last take (None: no budget)
        self._seen_at = 0.0  # when (wall clock)
        self.conflicts = 0
        self.waiting = 0
        self._priority_waiting = 0
        self._local: _Bucket | None = None  # the replica's own bucket (no KV, or NATS away)
        self._degraded = False
        self._last = float("-inf")
        self._calls: deque[float] = deque()
        self._take_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        if control is not None:
            control.on_change(lambda _cfg: self.changed())

    # -- status ----------------------------------------------------------------------------
    def calls_last_hour(self) -> int:
        """Calls this replica made in the last hour."""
        now = self.clock()
        while self._calls and self._calls[0] <= now - HOUR:
            self._calls.popleft()
        return len(self._calls)

    def exhausted(self) -> bool:
        """No token left at the last look, nor refilled since: the next call would wait."""
        rate = self.rate()
        if rate <= 0 or self.tokens_seen is None:
            return False
        return self.tokens_seen + max(0.0, time.time() - self._seen_at) * rate < 1.0

    def _saw(self, tokens: float, at: float) -> None:
        self.tokens_seen, self._seen_at = tokens, at

    # -- waiting -----------------------------------------------------------------------------
    def changed(self) -> None:
        """Wake every waiting caller to look again (a new budget, a disable, a command done)."""
        self._wake.set()
        self._wake = asyncio.Event()

    async def _sleep(self, wake: asyncio.Event, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()

    async def acquire(self, priority: bool = False) -> None:
        """Wait for a token (and the minimum gap), then take it."""
        self.waiting += 1
        self._priority_waiting += priority
        try:
            while True:
                wake = self._wake
                if self.stop_when_disabled and self.control is not None:
                    self.control.check()
                if not priority and self._priority_waiting:
                    await self._sleep(wake, None)  # a command first
                    continue
                async with self._take_lock:
                    wait = self._last + self.min_interval - self.clock()
                    if wait <= 0:
                        wait = await self._try_take()
                    if wait <= 0:
                        self._last = self.clock()
                        self._calls.append(self._last)
                        return
                await self._sleep(wake, wait)
        finally:
            self.waiting -= 1
            if priority:
                self._priority_waiting -= 1
                self.changed()

    # -- the bucket --------------------------------------------------------------------------
    async def _try_take(self) -> float:
        """0 when a token was taken, else seconds until one may be there."""
        rate = self.rate()
        if rate <= 0:
            self.tokens_seen = None
            return 0.0
        cap = max(1.0, rate * self.burst_seconds)
        if self.kv is None:
            return self._take_local(rate, cap)
        for _ in range(CAS_TRIES):
            now = time.time()
            try:
                entry = await self.kv.get(self.key)
                state = msgspec.json.decode(entry.value or b"", type=_Bucket)
                revision: int | None = entry.revision
            except KeyNotFoundError:
                state, revision = _Bucket(tokens=cap, at=now, cap=cap), None
            except msgspec.DecodeError:
                state, revision = _Bucket(tokens=cap, at=now, cap=cap), -1
            except Exception as exc:
                return self._nats_away(exc, rate, cap)
            tokens = state.refilled(rate, cap, now)
            if tokens < 1.0:
                self._saw(tokens, now)
                return (1.0 - tokens) / rate
            value = msgspec.json.encode(_Bucket(tokens=tokens - 1.0, at=now, cap=cap))
            try:
                if revision is None:
                    await self.kv.create(self.key, value)
                elif revision == -1:
                    await self.kv.put(self.key, value)
                else:
                    await self.kv.update(self.key, value, last=revision)
            except KeyWrongLastSequenceError:
                self.conflicts += 1
                continue
            except Exception as exc:
                return self._nats_away(exc, rate, cap)
            self._saw(tokens - 1.0, now)
            if self._degraded:
                self._degraded, self._local = False, None
                log.info("shared budget reachable again", extra={"key": self.key})
            return 0.0
        return 0.05  # other replicas won every race: look again in a moment

    def _nats_away(self, exc: Exception, rate: float, cap: float) -> float:
        if not self._degraded:
            self._degraded = True
            log.warning("shared budget unavailable, pacing on this replica's own: %s", exc)
        return self._take_local(rate, cap)

    def _take_local(self, rate: float, cap: float) -> float:
        now = time.time()
        state = self._local or _Bucket(tokens=cap, at=now, cap=cap)
        tokens = state.refilled(rate, cap, now)
        took = tokens >= 1.0
        if took:
            tokens -= 1.0
        self._local = _Bucket(tokens=tokens, at=now, cap=cap)
        self._saw(tokens, now)
        return 0.0 if took else (1.0 - tokens) / rate
