"""Request pacing per replica from Reddit's ``x-ratelimit-*`` headers (the configured budget,
shared by the replicas, is b9_common.scraping.ratelimit's ``Budget``, as for Instagram; these
headers are Reddit's own).

``HeaderPacer`` spreads what the window has left over the time it has left (like prawcore's
RateLimiter, but counting the requests still in flight), so it slows down before a 429,
never after. Reddit sends ``x-ratelimit-reset`` as whole seconds (floored), so the pacer
keeps the latest lower bound of the window's end seen across responses and, once the
window is spent, waits until just past it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from b9_common.scraping.control import ControlWatch

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

    async def reserve(self, control: ControlWatch[Any]) -> None:
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
