"""Operational facts (stream SCRAPE): the outcome of every scrape attempt."""

from __future__ import annotations

from typing import Literal

import msgspec

from b9_common.events.types import Name, NonNegFloat, NonNegInt

Outcome = Literal[
    "success",
    "not_found",
    "private",
    "banned",
    "quarantined",
    "rate_limited",
    "failed",
    "not_configured",
]

# Why an attempt ended as it did (``ScrapeAttempted.reason``), machine-readable; ``message`` says
# it in a short sentence for people. Set by the scrapers where the outcome is decided.
Reason = Literal[
    "ok",  # the upstream answered and the attempt succeeded
    "http_status",  # an unexpected HTTP status after the retries (``http_status`` holds it)
    "timeout",  # the upstream did not answer in time
    "connection",  # DNS failure, connection refused or reset, server disconnected
    "not_found",  # the upstream says the target does not exist
    "private",  # the target exists but is private / quarantined / forbidden to us
    "banned",  # the target was banned or suspended
    "not_configured",  # the scraper lacks what it needs (an API key) and sent nothing
    "budget_exhausted",  # a request budget (the upstream's 429s or our own) ran out
    "invalid_response",  # the answer was not JSON, or not the shape expected
    "interrupted",  # cut short by the scraper being disabled mid-attempt (not an upstream fault)
]
REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]


class ScrapeAttempted(msgspec.Struct, kw_only=True):
    """``scrape.attempted``: success rate, calls per day and cost come from these."""

    scraper: Literal["reddit", "instagram"]
    target_kind: Literal["subreddit", "user", "creator", "related"]
    target: Name
    outcome: Outcome
    calls: NonNegInt = 0
    cost_usd: NonNegFloat = 0.0
    duration_ms: NonNegInt = 0
    error: str | None = None
    cycle: int | None = None
    replica: str | None = None
    reason: Reason | None = None  # None only in events written before reasons existed
    message: str | None = None  # short and human: "connection refused by 127.0.0.1:9"
    http_status: int | None = None  # the status when reason is http_status (or the one seen)
    request_id: str | None = None  # the followed request this attempt answers (b9_common.ops.requests)
