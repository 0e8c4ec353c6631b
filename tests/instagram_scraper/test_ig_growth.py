"""Follower growth from a history spanning days and weeks, and its compaction."""

from __future__ import annotations

import pytest
from b9_instagram_scraper.growth import DAY, CreatorState, Sample, growth, record

T0 = 1_750_000_000.0


def _history(points: list[tuple[float, int]]) -> CreatorState:
    s = CreatorState()
    for days, followers in points:
        record(s, followers, T0 + days * DAY)
    return s


def test_growth_over_days_and_weeks() -> None:
    # observations at day 0, 3, 6, 7.5, 9, 9.5 (followers 1000 .. 1300)
    s = _history([(0, 1000), (3, 1100), (6, 1150), (7.5, 1200), (9, 1250), (9.5, 1250)])
    now = T0 + 10 * DAY
    g = growth(s, 1300, now)
    # daily base: the newest sample at least 24 h old -> day 9 (1250)
    assert g.daily_pct == pytest.approx((1300 - 1250) / 1250 * 100)
    # weekly base: the newest sample at least 7 days old -> day 3 (1100)
    assert g.weekly_pct == pytest.approx((1300 - 1100) / 1100 * 100)
    # previous = the newest value differing from the current one
    assert g.previous_followers_count == 1250


def test_no_base_yet_and_unchanged_value() -> None:
    s = _history([(0, 500)])
    g = growth(s, 500, T0 + 0.5 * DAY)
    assert g.daily_pct is None and g.weekly_pct is None and g.previous_followers_count is None
    s = _history([(0, 500), (1, 600), (2, 600)])
    g = growth(s, 600, T0 + 3 * DAY)
    assert g.previous_followers_count == 500  # kept though the newest samples equal the current
    assert g.daily_pct == 0.0 and g.weekly_pct is None


def test_decline_is_negative() -> None:
    s = _history([(0, 2000)])
    assert growth(s, 1500, T0 + 8 * DAY).weekly_pct == pytest.approx(-25.0)


def test_history_stays_compact() -> None:
    s = CreatorState()
    for i in range(24 * 60):  # every hour for 60 days
        record(s, 1000 + i, T0 + i * 3600)
    now = T0 + (24 * 60 - 1) * 3600
    ages = [(now - x.at) / DAY for x in s.samples]
    assert max(ages) <= 35
    assert len(s.samples) <= 8 * 24 + 1 + 28  # hourly for 8 days, then one a day
    # a sample at least 7 days old is still there for the weekly figure
    assert any(a >= 7 for a in ages)
    assert isinstance(s.samples[0], Sample)


def test_close_samples_are_merged() -> None:
    s = _history([(0, 1), (0.5, 2), (0.51, 3), (0.52, 4)])
    assert [x.followers for x in s.samples] == [1, 2, 4]
