"""The ``control`` KV bucket's scraper values: their shapes, defaults and limits, once.

Keys ``scraper.reddit`` and ``scraper.instagram`` each hold one JSON object. The scrapers
watch their key and apply a change at once (b9_common.scraping.control); the gateway reads
it with these defaults filled in and writes it after checking the result against the same
Struct. A missing or deleted key means the defaults. A value that does not decode or breaks a
limit is ignored by the scraper (the last good one stays) and refused by the gateway (422).

Unknown fields are allowed: the scrapers ignore them and the gateway keeps them, so a newer
writer does not break an older reader. ``updated_at``/``updated_by`` are the gateway's note of
who wrote the value last.
"""

from __future__ import annotations

from typing import Annotated, Final, TypeVar

import msgspec
from msgspec import Meta

MAX_BATCH: Final = 100  # refreshes / creators at the same time
MAX_INTERVAL: Final = 30 * 86_400  # seconds between cycles
MAX_PER_MINUTE: Final = 100_000  # Reddit's budget unit
MAX_PER_HOUR: Final = 1_000_000  # the Instagram provider's budget unit

Interval = Annotated[float, Meta(ge=0, le=MAX_INTERVAL, description="Seconds between two cycles")]
BatchSize = Annotated[int, Meta(ge=1, le=MAX_BATCH, description="Targets refreshed at the same time")]


class ScraperControl(msgspec.Struct, kw_only=True):
    """What every scraper's value has."""

    enabled: bool = True
    interval_seconds: Interval = 300.0
    batch_size: BatchSize = 5
    updated_at: str | None = None
    updated_by: str | None = None


class RedditControl(ScraperControl, kw_only=True):
    """``scraper.reddit``: the budget is per minute (Reddit's own unit), shared by every replica."""

    interval_seconds: Interval = 300.0
    batch_size: BatchSize = 5
    requests_per_minute: Annotated[float, Meta(gt=0, le=MAX_PER_MINUTE)] = 100.0


class InstagramControl(ScraperControl, kw_only=True):
    """``scraper.instagram``: the budget is per hour (the provider's plan unit); 0 = no budget
    (pacing only). The original waited 4 h between cycles."""

    interval_seconds: Interval = 4 * 3600.0
    batch_size: BatchSize = 10
    requests_per_hour: Annotated[int, Meta(ge=0, le=MAX_PER_HOUR)] = 3600
    viral_min_views: int = 50_000
    viral_multiplier: float = 5.0
    cost_per_request: float = 0.0003  # USD per provider call, for scrape.attempted's cost
    related_per_cycle: int = 0  # approved creators given related discovery after each pass


C = TypeVar("C", bound=ScraperControl)

CONTROLS: dict[str, type[ScraperControl]] = {"reddit": RedditControl, "instagram": InstagramControl}


def control_key(scraper: str) -> str:
    """The KV key of a scraper's value (``reddit`` -> ``scraper.reddit``)."""
    return f"scraper.{scraper}"


def decode_control(cls: type[C], raw: bytes | None) -> C:
    """The value in ``raw`` (the defaults when empty); msgspec.DecodeError or
    msgspec.ValidationError (naming the field) when it is not a valid value."""
    if not raw:
        return cls()
    return msgspec.json.decode(raw, type=cls)
