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
