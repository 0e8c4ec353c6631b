"""Provider call pacing: a minimum gap between calls, an hourly budget, commands first.

- ``min_interval``: the original paced all calls at most 55 per second.
- ``per_hour``: at most this many calls in any sliding hour (from ``control``; 0 = no budget).
  A new budget applies at once: waiting callers are woken and re-check.
- ``acquire(priority=True)`` (on-demand commands) goes before every waiting cycle call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from b9_common.ops.metrics import UPSTREAM_BUDGET

HOUR = 3600.0


class RateLimiter:
    def __init__(
        self,
        min_interval: float = 1 / 55,
        per_hour: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_interval = min_interval
        self.per_hour = per_hour
        UPSTREAM_BUDGET.labels("instagram").set(per_hour / 60)
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
        delay = 0.0
        if self._calls:
            delay = self._calls[-1] + self.min_interval - now
        if self.per_hour > 0 and len(self._calls) >= self.per_hour:
            delay = max(delay, self._calls[-self.per_hour] + HOUR - now)
        return delay

    def exhausted(self) -> bool:
        return self.per_hour > 0 and self.calls_last_hour() >= self.per_hour

    def set_budget(self, per_hour: int) -> None:
        """Apply a new budget now: waiting callers re-check at once."""
        self.per_hour = per_hour
        UPSTREAM_BUDGET.labels("instagram").set(per_hour / 60)
        task = asyncio.get_running_loop().create_task(self._wake())
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def acquire(self, priority: bool = False) -> None:
        self.waiting += 1
        if priority:
            self._priority_waiting += 1
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
