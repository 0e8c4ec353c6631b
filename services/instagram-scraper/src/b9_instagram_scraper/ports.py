"""The small interfaces the use cases depend on, and the result of one attempt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from b9_common.ops.reasons import Why

from b9_instagram_scraper.growth import CreatorState
from b9_instagram_scraper.provider import CallMeter, ProviderError


class EventSink(Protocol):
    async def publish(self, payload: Any, *, id_: str | None = None) -> Any: ...


class StateLike(Protocol):
    async def get(self, ig_user_id: str) -> tuple[CreatorState, int | None]: ...
    async def update(
        self, ig_user_id: str, change: Callable[[CreatorState], None]
    ) -> CreatorState: ...


class KnownLike(Protocol):
    async def known(self, usernames: list[str]) -> set[str]: ...
    async def add(self, username: str, ig_user_id: str | None) -> None: ...


@dataclass
class Result:
    outcome: str
    calls: int = 0
    error: str | None = None
    transient: bool = False
    retry_after: float | None = None
    ig_user_id: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    why: Why | None = None  # the reason code and message; None: derived from the outcome


def failed(exc: ProviderError, meter: CallMeter) -> Result:
    return Result(
        outcome=exc.outcome,
        calls=meter.calls,
        error=str(exc)[:500],
        transient=exc.transient,
        retry_after=getattr(exc, "retry_after", None),
        why=exc.why,
    )


_OUTCOME_WHY = {"success": Why("ok", "scraped"), "private": Why("private", "the account is private")}


def why_of(res: Result) -> Why | None:
    return res.why or _OUTCOME_WHY.get(res.outcome)
