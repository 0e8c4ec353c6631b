"""Every analytics figure against values computed by hand on the built fixture creators."""

from __future__ import annotations

import math

import ig_fixtures as fx
import pytest
from b9_instagram_scraper import analytics
from b9_instagram_scraper.analytics import ViralRule, is_viral_post, is_viral_reel
from b9_instagram_scraper.media import parse_media

RULE = ViralRule(min_views=50_000, multiplier=5.0)


def _alice(rule: ViralRule = RULE):
    data = fx.alice()
    followers = fx.ALICE_FOLLOWERS
    reels = [parse_media(i, "reel", followers) for i in data["reels"]]
    posts = [parse_media(i, "post", followers) for i in data["posts"]]
    assert all(reels) and all(posts)
    return reels, posts, analytics.compute(reels, posts, followers, rule, fx.NOW)  # type: ignore[arg-type]


def test_alice_averages_skip_zeros() -> None:
    _, _, a = _alice()
    # non-zero views: 100,000 + 5 x 4,000 = 120,000 over 6 reels (the 0-view reel is skipped)
    assert a.avg_reel_views == 20_000
    assert a.avg_reel_likes == 6_000 / 5  # 5,000+400+300+200+100 over the 5 non-zero
    assert a.avg_reel_comments == 240 / 4  # 200+20+10+10
    assert a.avg_reel_saves == pytest.approx(320 / 3)  # 300+10+10
    assert a.avg_reel_shares == pytest.approx(110 / 3)  # 100+5+5
    assert a.avg_post_likes == pytest.approx(5_320 / 6)  # 4,500+180+190+200+150+100
    assert a.avg_post_comments == 680 / 5  # 500+20+10+50+100
    assert a.avg_post_engagement == 6_000 / 6  # 5,000 + 5 x 200


def test_alice_rates() -> None:
    _, _, a = _alice()
    assert a.content_reach_rate == 20.0  # 20,000 / 100,000 x 100
    assert a.reel_engagement_rate == pytest.approx((6_000 + 240) / 7 / 100_000 * 100)  # 0.8914 %
    assert a.post_engagement_rate == pytest.approx(6_000 / 7 / 100_000 * 100)  # 0.8571 %
    # (11,320 likes + 920 comments) / 14 items / 100,000 followers x 100
    assert a.engagement_rate == pytest.approx(12_240 / 14 / 100_000 * 100)
    assert a.comment_to_like_ratio == pytest.approx(920 / 11_320)
    assert a.save_to_like_ratio == pytest.approx(320 / 11_320)
    assert a.reels_vs_posts_performance == 20.0  # 20,000 / 1,000
    # reel rate 0.891 is not > 1.5 x 0.857, nor the reverse, and both are > 0
    assert a.best_content_type == "mixed"


def test_alice_viral_at_exactly_five_times_the_average() -> None:
    reels, posts, a = _alice()
    assert [r.is_viral for r in reels] == [True] + [False] * 6  # 100,000 == 5 x 20,000
    assert [p.is_viral for p in posts] == [True] + [False] * 6  # 5,000 == 5 x 1,000
    assert (a.viral_reels, a.viral_posts, a.viral_content_count) == (1, 1, 2)
    assert a.viral_content_rate == pytest.approx(100 / 7)  # viral reels / all 7 reels
    assert (a.viral_min_views, a.viral_multiplier) == (50_000, 5.0)


def test_alice_just_above_five_times_is_not_viral() -> None:
    reels, posts, a = _alice(ViralRule(50_000, 5.0001))
    assert not any(r.is_viral for r in reels) and not any(p.is_viral for p in posts)
    assert a.viral_content_count == 0 and a.viral_content_rate == 0


def test_alice_posting_patterns() -> None:
    _, _, a = _alice()
    # 14 items; intervals: 12 x 2 days and 1 x 3 days; span 27 days
    assert a.posting_frequency_per_week == pytest.approx(14 / (27 / 7))
    mean = 27 / 13
    sd = math.sqrt((12 * (2 - mean) ** 2 + (3 - mean) ** 2) / 13)
    assert a.posting_consistency_score == pytest.approx(100 - sd / mean * 100)  # ~87.2
    assert a.last_post_days_ago == 1  # newest Sat 18:00, now Mon 12:00 -> 1.75 days
    # weekdays going back 2 days from Saturday: Sat Thu Tue Sun Fri Wed Mon Sat Thu Tue Sun Fri Wed,
    # then 3 days back: Sun. Sunday (6) appears 3 times, every other day at most twice.
    assert a.most_active_day == 6
    assert a.most_active_hour == 18


def test_bob_viral_at_exactly_fifty_thousand_views() -> None:
    data = fx.bob()
    reels = [parse_media(i, "reel", 20_000) for i in data["reels"]]
    a = analytics.compute(reels, [], 20_000, RULE, fx.NOW)  # type: ignore[arg-type]
    assert a.avg_reel_views == pytest.approx(100_008 / 11)
    assert [r.is_viral for r in reels][:2] == [True, False]  # 50,000 yes; 49,999 under the minimum
    assert a.viral_reels == 1 and a.viral_content_rate == pytest.approx(100 / 11)
    assert a.best_content_type == "reels"  # no posts: reel rate > 1.5 x 0
    assert a.post_engagement_rate == 0 and a.avg_post_engagement == 0


@pytest.mark.parametrize(
    ("views", "avg", "viral"),
    [
        (50_000, 10_000, True),
        (49_999, 1, False),
        (50_000, 10_000.2, False),
        (0, 0, False),
    ],
)
def test_viral_reel_rule_edges(views: int, avg: float, viral: bool) -> None:
    assert is_viral_reel(views, avg, RULE) is viral


def test_viral_post_rule_edges() -> None:
    assert is_viral_post(500, 100, RULE) and not is_viral_post(499, 100, RULE)
    assert not is_viral_post(0, 0, RULE)


def test_best_content_type_fallbacks() -> None:
    assert analytics.best_content_type(3.0, 1.0, 0, 0) == "reels"
    assert analytics.best_content_type(1.0, 3.0, 0, 0) == "posts"
    assert analytics.best_content_type(0, 0, 10.0, 5.0) == "reels"
    assert analytics.best_content_type(0, 0, 1.0, 5.0) == "posts"
    assert analytics.best_content_type(0, 0, 0, 0) is None


def test_no_content_and_no_followers() -> None:
    a = analytics.compute([], [], 0, RULE, fx.NOW)
    assert a.engagement_rate == 0 and a.last_post_days_ago is None and a.best_content_type is None
    assert a.posting_frequency_per_week == 0 and a.most_active_day is None


def test_an_item_in_reels_and_posts_counts_once_in_the_whole_content_figures() -> None:
    """The /user-feeds timeline carries the creator's reels too (#20.1): each role's figures
    keep the item, the figures over all content count it once."""
    reels, posts, alone = _alice()
    both = parse_media(fx.alice()["reels"][0], "post", fx.ALICE_FOLLOWERS)  # the 100,000-view reel
    assert both is not None
    _, _, a = reels, posts, analytics.compute(reels, [*posts, both], fx.ALICE_FOLLOWERS, RULE, fx.NOW)
    # per role: the copy is a post now (8 posts)
    assert a.avg_post_likes == pytest.approx((5_320 + both.like_count) / 7)
    # over all content: still the 14 distinct items, the same totals and pattern as without it
    assert a.engagement_rate == pytest.approx(alone.engagement_rate)
    assert (a.comment_to_like_ratio, a.save_to_like_ratio) == (
        pytest.approx(alone.comment_to_like_ratio), pytest.approx(alone.save_to_like_ratio))
    assert a.posting_frequency_per_week == pytest.approx(alone.posting_frequency_per_week)
    assert (a.most_active_day, a.most_active_hour) == (alone.most_active_day, alone.most_active_hour)
    # viral as a reel (and maybe as a post): one item in viral_content_count
    assert a.viral_content_count == len({i.media_pk for i in (*reels, *posts, both) if i.is_viral})
    assert a.viral_content_count <= a.viral_reels + a.viral_posts
