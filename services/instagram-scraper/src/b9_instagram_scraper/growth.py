"""Follower history and growth, as pure functions over a compact per-creator record.

Growth (reference §3, step 2), with ``now`` the time of the new observation:
- daily % = (followers now − base) / base × 100, base = the newest sample taken at least
  24 h before now; weekly % likewise with 7 days. None when no such sample exists.
- ``previous_followers_count`` = the newest recorded value that differs from the current one.

The record keeps every sample of the last 8 days (at most one per ``min_gap`` seconds) and one
sample per day for 35 days: enough for both figures, and small (a few hundred bytes).
"""

from __future__ import annotations

import msgspec
from b9_common.events import FollowerGrowth

DAY = 86_400.0
KEEP_ALL = 8 * DAY
KEEP_DAILY = 35 * DAY


class Sample(msgspec.Struct, array_like=True):
    at: float
    followers: int


class CreatorState(msgspec.Struct, kw_only=True):
    """What the scraper remembers about one creator (KV bucket ``ig_state``, key = ig id)."""

    username: str = ""
    samples: list[Sample] = msgspec.field(default_factory=list)
    previous: int | None = None  # value just before the latest change
    media_fetched: bool = False  # a full (90 + 30) fetch has been done once
    related_processed: bool = False
    last_scraped_at: float | None = None


def growth(state: CreatorState, followers: int, now: float) -> FollowerGrowth:
    """Growth figures for a new observation, computed against the history *before* it."""

    def base(age: float) -> int | None:
        older = [s for s in state.samples if s.at <= now - age]
        return older[-1].followers if older else None

    def pct(b: int | None) -> float | None:
        return (followers - b) / b * 100 if b else None

    previous = state.previous
    if state.samples and state.samples[-1].followers != followers:
        previous = state.samples[-1].followers
    return FollowerGrowth(
        daily_pct=pct(base(DAY)), weekly_pct=pct(base(7 * DAY)), previous_followers_count=previous
    )


def record(state: CreatorState, followers: int, now: float, min_gap: float = 3600.0) -> None:
    """Append an observation and prune the history (in place)."""
    if state.samples and state.samples[-1].followers != followers:
        state.previous = state.samples[-1].followers
    samples = [s for s in state.samples if s.at < now]
    samples.append(Sample(at=now, followers=followers))
    if len(samples) >= 3 and samples[-2].at - samples[-3].at < min_gap:
        del samples[-2]  # kept samples stay ``min_gap`` apart; the newest is always kept
    kept: list[Sample] = []
    last_day: int | None = None
    for s in samples:
        age = now - s.at
        if age > KEEP_DAILY:
            continue
        if age > KEEP_ALL:
            day = int(s.at // DAY)
            if day == last_day:
                continue
            last_day = day
        kept.append(s)
    state.samples = kept
