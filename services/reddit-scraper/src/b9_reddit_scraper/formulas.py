"""The figures the scraper computes, each formula named once.

Subreddit metrics (over the sampled top-of-week posts, n = how many came back, stickied
posts included as the original scraper did):

- ``avg_upvotes_per_post = Σscore / n``                 (rounded to 2)
- ``engagement = Σnum_comments / Σscore``               (rounded to 6; 0 when Σscore <= 0)
- ``subreddit_score = sqrt(engagement × avg_upvotes × 1000)`` (rounded to 2; 0 when negative)

The original's code and its docs disagree on the score (docs: ``sqrt(avg)×engagement×1000``);
we keep the code's formula, named ``SCORE_FORMULA``, computed from the unrounded values.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import cast

from b9_common.events import PostingRequirements, RedditPost, SubredditMetrics, UserFetched
from b9_common.events.reddit import ContentType

SCORE_FORMULA = "sqrt(engagement*avg_upvotes*1000)@top-week-v1"
PERCENTILE = 0.10


def subreddit_metrics(posts: Sequence[RedditPost]) -> SubredditMetrics:
    n = len(posts)
    if n == 0:
        return SubredditMetrics(posts_sampled=0, formula=SCORE_FORMULA)
    total_score = sum(p.score for p in posts)
    total_comments = sum(p.num_comments for p in posts)
    avg = total_score / n
    engagement = total_comments / total_score if total_score > 0 else 0.0
    product = engagement * avg * 1000
    score = math.sqrt(product) if product > 0 else 0.0
    return SubredditMetrics(
        posts_sampled=n, avg_upvotes_per_post=round(avg, 2), engagement=round(engagement, 6),
        subreddit_score=round(score, 2), formula=SCORE_FORMULA,
    )


def percentile_low(values: Iterable[int]) -> int | None:
    """The original's 10th percentile: sorted values at index ``int(n × 0.10)``."""
    vals = sorted(values)
    return vals[int(len(vals) * PERCENTILE)] if vals else None


def best_posting_time(posts: Iterable[RedditPost]) -> tuple[int | None, int | None]:
    """Hour (UTC) and weekday (Mon=0) with the highest mean score among posts with score > 0.

    Each post counts once: one seen both in the subreddit's top listing and in its author's
    submissions is the same post (the first copy given is used)."""
    by_hour: dict[int, list[int]] = defaultdict(list)
    by_day: dict[int, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for p in posts:
        if p.reddit_id in seen:
            continue
        seen.add(p.reddit_id)
        if p.score > 0:
            by_hour[p.posting_hour].append(p.score)
            by_day[p.posting_day_of_week].append(p.score)

    def best(groups: dict[int, list[int]]) -> int | None:
        if not groups:
            return None
        # highest mean; ties go to the earliest hour/day so the result is deterministic
        return min(groups, key=lambda k: (-sum(groups[k]) / len(groups[k]), k))

    return best(by_hour), best(by_day)


def posting_requirements(authors: Sequence[UserFetched],
                         posts: Iterable[RedditPost]) -> PostingRequirements:
    """10th-percentile karma / account age of the posters, best hour/day from the posts."""
    ok = [u for u in authors if u.availability == "ok"]
    hour, day = best_posting_time(posts)
    return PostingRequirements(
        min_post_karma=percentile_low(u.link_karma for u in ok if u.link_karma is not None),
        min_comment_karma=percentile_low(
            u.comment_karma for u in ok if u.comment_karma is not None),
        min_account_age_days=percentile_low(
            u.account_age_days for u in ok if u.account_age_days is not None),
        best_posting_hour=hour, best_posting_day=day, authors_sampled=len(ok),
    )


def most_common(values: Iterable[int]) -> int | None:
    """Most frequent value; ties go to the smallest."""
    c = Counter(values)
    if not c:
        return None
    return min(c, key=lambda k: (-c[k], k))


def user_activity(user: UserFetched, posts: Sequence[RedditPost]) -> UserFetched:
    """Fill the activity figures of ``user`` from their recent submissions."""
    n = len(posts)
    user.posts_sampled = n
    if n == 0:
        return user
    user.avg_post_score = round(sum(p.score for p in posts) / n, 2)
    user.avg_post_comments = round(sum(p.num_comments for p in posts) / n, 2)
    kinds: Counter[str] = Counter(p.content_type for p in posts)
    order = ("image", "video", "gallery", "text", "link")
    user.preferred_content_type = cast(ContentType, min(kinds, key=lambda k: (-kinds[k], order.index(k))))
    user.most_active_hour = most_common(p.posting_hour for p in posts)
    user.most_active_day = most_common(p.posting_day_of_week for p in posts)
    return user
