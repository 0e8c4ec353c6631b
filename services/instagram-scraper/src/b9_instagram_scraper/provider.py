"""The provider interface the scraper depends on, its outcomes and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from b9_common.events.ops import Reason
from b9_common.ops.reasons import Why

from b9_instagram_scraper.profile import Profile


class ProviderError(Exception):
    """Base: the attempt failed. ``outcome`` is the ``scrape.attempted`` outcome to report,
    ``why`` its reason code and message (the class's ``reason`` unless the raiser knew better)."""

    outcome = "failed"
    transient = False
    reason: Reason = "http_status"

    def __init__(self, message: str, why: Why | None = None) -> None:
        super().__init__(message)
        self.why = why or Why(self.reason, message[:200])


class NotConfigured(ProviderError):
    outcome = "not_configured"
    reason = "not_configured"


class ProfileNotFound(ProviderError):
    outcome = "not_found"
    reason = "not_found"


class RateLimited(ProviderError):
    """429 after every retry. ``retry_after`` is the provider's last hint, if any."""

    outcome = "rate_limited"
    transient = True
    reason = "budget_exhausted"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, Why("budget_exhausted", f"the provider kept answering 429: {message}"[:200], 429))
        self.retry_after = retry_after


class UpstreamError(ProviderError):
    """5xx, connection errors, timeouts: after every retry."""

    transient = True
    reason = "connection"


class MalformedResponse(ProviderError):
    """The body was not JSON, or not the shape expected, after every retry."""

    transient = True
    reason = "invalid_response"


class EmptyResponse(ProviderError):
    """The provider answered 200 with nothing in it (after the empty-response retries)."""

    transient = True
    reason = "invalid_response"


@dataclass
class CallMeter:
    """Counts the provider requests one attempt made (every HTTP request sent counts)."""

    calls: int = 0
    priority: bool = False
    retries: list[float] = field(default_factory=list)  # waits taken before retries, in seconds

    def cost(self, per_request: float) -> float:
        return round(self.calls * per_request, 6)


class InstagramProvider(Protocol):
    configured: bool

    async def profile(self, username: str, meter: CallMeter) -> Profile:
        """The profile; ``ProfileNotFound`` when the user does not exist."""
        ...

    async def reels(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]:
        """Up to ``limit`` raw reel items, newest first, following the cursor."""
        ...

    async def posts(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]: ...

    async def related(self, user_id: str, meter: CallMeter) -> list[str]:
        """Usernames Instagram relates to this user."""
        ...

    async def close(self) -> None: ...
