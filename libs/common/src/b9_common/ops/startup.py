"""Waiting at start-up for what a service needs (NATS, its JetStream, PostgreSQL): one retry loop.

``retry_startup(what, attempt, timeout, retry_if=...)`` calls ``attempt`` until it succeeds,
backing off 0.5 s .. 5 s, for at most ``timeout`` s, one log line per failed attempt; then a
``ConnectionError`` that is one line naming ``what`` (the setting to look at first). An error
``retry_if`` says no to (a refusal, not an absence) propagates at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def _any_error(exc: Exception) -> bool:
    return True


async def retry_startup(what: str, attempt_fn: Callable[[], Awaitable[T]], timeout: float, *,
                        retry_if: Callable[[Exception], bool] = _any_error) -> T:
    """Call ``attempt_fn`` until it succeeds or ``timeout`` s have passed (see the module)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_fn()
        except Exception as exc:
            if not retry_if(exc):
                raise
            left = deadline - loop.time()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if left <= 0:
                raise ConnectionError(f"{what} after {attempt} attempts in {timeout:g} s: {reason}") from None
            delay = min(5.0, 0.5 * 2 ** min(attempt - 1, 4), left)
            log.warning("%s (attempt %d): %s; retrying in %.1f s", what, attempt, reason, delay)
            await asyncio.sleep(delay)
