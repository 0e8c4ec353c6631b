"""Creator analytics, exactly as the original computed them (reference §3), as pure functions.

Choices where the original's code and its docs differ, named here and tested:
- ``viral_content_rate`` = viral reels / all fetched reels × 100 (the documented formula; the
  code divided by the reels that had a view count).
- A reel with 0 views is never viral, and a post with 0 engagement is never viral (the code
  only looked at non-zero values).
- ``most_active_day`` (Monday = 0) and ``most_active_hour`` are taken in UTC; ties go to the
  smallest day / hour.
- ``last_post_days_ago`` is whole days (floor) since the newest item.
- An item in both lists (a reel also in the ``/user-feeds`` timeline) counts in each role's own
  figures (reel averages, post averages, viral reels, viral posts), but once in the figures
  over all content: total likes / comments / saves, ``engagement_rate``, the posting pattern,
  and ``viral_content_count`` (items viral in either role).
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from b9_common.events import CreatorAnalytics, IgMedia

DAY = 86_400.0
WEEK = 7 * DAY


@dataclass(frozen=True)
class ViralRule:
    min_views: int = 50_000
    multiplier: float = 5.0


def mean_nonzero(values: Iterable[int]) -> float:
    """Mean of the non-zero values; 0 when there are none."""
    nz = [v for v in values if v]
    return sum(nz) / len(nz) if nz else 0.0


def is_viral_reel(views: int, avg_views: float, rule: ViralRule) -> bool:
    return views > 0 and views >= rule.min_views and views >= rule.multiplier * avg_views


def is_viral_post(engagement: int, avg_engagement: float, rule: ViralRule) -> bool:
    return engagement > 0 and avg_engagement > 0 and engagement >= rule.multiplier * avg_engagement


def _rate(total: float, items: int, followers: int) -> float:
    return total / items / followers * 100 if items and followers > 0 else 0.0


def best_content_type(
    reel_rate: float, post_rate: float, avg_views: float, avg_post_eng: float
) -> str | None:
    if reel_rate > post_rate * 1.5:
        return "reels"
    if post_rate > reel_rate * 1.5:
        return "posts"
    if reel_rate > 0 and post_rate > 0:
        return "mixed"
    if avg_views > avg_post_eng:
        return "reels"
    if avg_post_eng > 0:
        return "posts"
    return None


def _most_common(values: list[int]) -> int | None:
    if not values:
        return None
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def posting_patterns(times: list[datetime], now: datetime) -> dict[str, float | int | None]:
    ts = sorted(t.timestamp() for t in times)
    out: dict[str, float | int | None] = {
        "posting_frequency_per_week": 0.0,
        "posting_consistency_score": 0.0,
        "last_post_days_ago": None,
        "most_active_day": None,
        "most_active_hour": None,
    }
    if not ts:
        return out
    out["last_post_days_ago"] = max(0, int((now.timestamp() - ts[-1]) // DAY))
    if len(ts) > 1:
        span = ts[-1] - ts[0]
        if span > 0:
            out["posting_frequency_per_week"] = len(ts) / (span / WEEK)
        intervals = [b - a for a, b in itertools.pairwise(ts)]
        avg = sum(intervals) / len(intervals)
        if avg > 0:
            score = max(0.0, 100 - statistics.pstdev(intervals) / avg * 100)
            out["posting_consistency_score"] = min(100.0, score)
    out["most_active_day"] = _most_common([t.weekday() for t in sorted(times)])
    out["most_active_hour"] = _most_common([t.hour for t in sorted(times)])
    return out


def compute(
    reels: list[IgMedia], posts: list[IgMedia], followers: int, rule: ViralRule, now: datetime
) -> CreatorAnalytics:
    """All figures over the fetched items; also sets ``is_viral`` on each item."""
    avg_views = mean_nonzero(r.play_count for r in reels)
    avg_post_eng = mean_nonzero(p.like_count + p.comment_count for p in posts)
    for r in reels:
        r.is_viral = is_viral_reel(r.play_count, avg_views, rule)
    for p in posts:
        p.is_viral = is_viral_post(p.like_count + p.comment_count, avg_post_eng, rule)
    viral_reels = sum(r.is_viral for r in reels)
    viral_posts = sum(p.is_viral for p in posts)
    items: dict[str, IgMedia] = {}  # each item once (a reel may also be in the posts)
    for i in (*reels, *posts):
        items.setdefault(i.media_pk, i)
    viral_items = {i.media_pk for i in (*reels, *posts) if i.is_viral}

    reel_likes = sum(r.like_count for r in reels)
    reel_comments = sum(r.comment_count for r in reels)
    post_eng_total = sum(p.like_count + p.comment_count for p in posts)
    total_likes = sum(i.like_count for i in items.values())
    total_comments = sum(i.comment_count for i in items.values())
    total_saves = sum(i.save_count for i in items.values())
    reel_rate = _rate(reel_likes + reel_comments, len(reels), followers)
    post_rate = _rate(post_eng_total, len(posts), followers)
    overall = _rate(total_likes + total_comments, len(items), followers)
    times = [i.taken_at for i in items.values() if i.taken_at is not None]
    patterns = posting_patterns(times, now)
    return CreatorAnalytics(
        avg_reel_views=avg_views,
        avg_reel_likes=mean_nonzero(r.like_count for r in reels),
        avg_reel_comments=mean_nonzero(r.comment_count for r in reels),
        avg_reel_saves=mean_nonzero(r.save_count for r in reels),
        avg_reel_shares=mean_nonzero(r.share_count for r in reels),
        avg_post_likes=mean_nonzero(p.like_count for p in posts),
        avg_post_comments=mean_nonzero(p.comment_count for p in posts),
        avg_post_engagement=avg_post_eng,
        content_reach_rate=avg_views / followers * 100 if followers > 0 else 0.0,
        reel_engagement_rate=reel_rate,
        post_engagement_rate=post_rate,
        engagement_rate=overall,
        viral_reels=viral_reels,
        viral_posts=viral_posts,
        viral_content_count=len(viral_items),
        viral_content_rate=viral_reels / len(reels) * 100 if reels else 0.0,
        viral_min_views=rule.min_views,
        viral_multiplier=rule.multiplier,
        comment_to_like_ratio=total_comments / total_likes if total_likes else 0.0,
        save_to_like_ratio=total_saves / total_likes if total_likes else 0.0,
        reels_vs_posts_performance=avg_views / avg_post_eng
        if avg_views > 0 and avg_post_eng > 0
        else 0.0,
        best_content_type=best_content_type(reel_rate, post_rate, avg_views, avg_post_eng),
        posting_frequency_per_week=float(patterns["posting_frequency_per_week"] or 0.0),
        posting_consistency_score=float(patterns["posting_consistency_score"] or 0.0),
        last_post_days_ago=_opt_int(patterns["last_post_days_ago"]),
        most_active_day=_opt_int(patterns["most_active_day"]),
        most_active_hour=_opt_int(patterns["most_active_hour"]),
    )


def _opt_int(v: float | int | None) -> int | None:
    return None if v is None else int(v)
