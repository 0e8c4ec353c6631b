"""What a failed Reddit request raises, and how ``retrying`` retries it (through stamina).

Each failure is a type, decided from the status or the exception, never from error text:

- ``RateLimited``: a 429. ``HeaderPacer.block`` already holds every request of the replica
  until ``Retry-After`` (or the spent window's ``x-ratelimit-reset``), so stamina retries it
  without a wait of its own; a 429 does not use up a retry, but more than ``attempts`` 429s
  end the call as ``rate_limited``.
- ``Transient`` (``ServerError`` 5xx/408/520/522, ``ConnectionFailed`` timeouts and
  connection errors, ``TokenRejected`` a 401 with OAuth, ``BadResponse`` a 200 that is not
  JSON or a token answer without a token): jittered exponential backoff
  (``base x 2^(n-1) + U(0, base)``), ``attempts`` in a row (a 429 between them starts
  the count again).

``ScraperDisabled`` and cancellation are never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina
from b9_common.ops.reasons import Why

T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 522})


class RedditError(Exception):
    """A request that did not get an answer to use; ``why`` is the reason reported."""

    def __init__(self, message: str, why: Why) -> None:
        super().__init__(message)
        self.why = why


class RateLimited(RedditError):
    """429 Too Many Requests."""


class Transient(RedditError):
    """Worth another try after a backoff."""


class ServerError(Transient):
    """5xx, 408, or Cloudflare's 520/522."""


class ConnectionFailed(Transient):
    """Timeout, refused or reset connection, DNS failure."""


class TokenRejected(Transient):
    """401 with OAuth: the token is dropped and fetched again."""


class BadResponse(Transient):
    """An answer that cannot be read (a 200 that is not JSON; a token answer without a token)."""


async def retrying(once: Callable[[], Awaitable[T]], *, attempts: int, base: float) -> T:
    """``once()`` until it answers: RateLimited or Transient once retries are spent."""
    async for limited in stamina.retry_context(
        on=RateLimited, attempts=attempts + 1, timeout=None,
        wait_initial=0.0, wait_max=0.0, wait_jitter=0.0,  # the pacer waits (every request)
    ):
        with limited:
            async for attempt in stamina.retry_context(
                on=Transient, attempts=attempts, timeout=None,
                wait_initial=base, wait_exp_base=2, wait_max=base * 2 ** attempts, wait_jitter=base,
            ):
                with attempt:
                    return await once()
    raise AssertionError("unreachable")  # pragma: no cover
