"""The seed's Reddit side: subreddits (discovered, then two snapshots), users, posts, tags.

Times are relative to ``now`` (the last 30 days) with a daily rhythm: posts cluster around
each subreddit's own "golden hour" and score best there, so best posting hour / day differ
per subreddit. Every author is one of the seeded users, so each subreddit's posting
requirements are computed from its posters' facts with the scraper's formula (10th
percentile of the first 100 distinct authors' link karma, comment karma and account age).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from b9_common.events import (
    Envelope,
    PostingRequirements,
    PostsFetched,
    RedditPost,
    SubredditCategorized,
    SubredditDiscovered,
    SubredditFetched,
    SubredditMetrics,
    SubredditRule,
    UserFetched,
)
from b9_common.events.reddit import ContentType

from b9_persistence.seed_words import CONTENT, RULES, TAGS, WORDS, subreddit_name, username

DAY = timedelta(days=1)
AUTHORS_SAMPLED = 100  # as the scraper: the first 100 distinct authors of a subreddit's posts
REVIEWS = (("Ok", 0.45), ("No Seller", 0.08), ("Non Related", 0.05))


def _low(values: list[int]) -> int | None:
    """The scraper's 10th percentile: sorted values at index int(n * 0.10)."""
    vals = sorted(values)
    return vals[int(len(vals) * 0.10)] if vals else None


def _best(sums: list[int], ns: list[int]) -> int | None:
    """Highest mean; ties go to the earliest hour / day (as the scraper's formula)."""
    means = [(-sums[k] / ns[k], k) for k in range(len(ns)) if ns[k]]
    return min(means)[1] if means else None


class _SubStats:
    """What the scraper would compute from a subreddit's posts, kept per subreddit once its
    posts are generated: counts and sums, and its posting requirements (10th percentiles of
    the first distinct authors' facts, best hour / weekday by mean score of the posts with
    score > 0). The per-post sums live only while that subreddit's posts are generated, so the
    memory held grows with the subreddits and users, not the posts (18.3 M at ``10x``)."""

    __slots__ = ("comments", "n", "req", "score")

    def __init__(self, n: int = 0, score: int = 0, comments: int = 0, req: PostingRequirements | None = None) -> None:
        self.n, self.score, self.comments, self.req = n, score, comments, req


class RedditSeed:
    def __init__(self, gen: Any) -> None:
        self.g = gen  # the _Gen: env(), now, n, scale
        n = gen.n
        r = random.Random(f"b9-seed-{gen.scale}-reddit")
        self.subs = [min(60_000_000, int(r.lognormvariate(7.5, 2.2)) + 10) for _ in range(n["subreddits"])]
        self.golden = [int(r.triangular(8, 26, 18)) % 24 for _ in self.subs]
        self.day_bias = [r.randrange(7) for _ in self.subs]
        today = gen.now.replace(hour=0, minute=0, second=0, microsecond=0)
        # 3 % found today, the rest over the last 30 days
        self.found = [today + (gen.now - today) * r.random() if r.random() < 0.03
                      else gen.now - DAY * r.uniform(1, 30) for _ in self.subs]
        self.review = [self._review(r.random()) for _ in self.subs]
        users = random.Random(f"b9-seed-{gen.scale}-users")
        # arrays: 8 bytes a user instead of a list slot and an int object (3.1 M users at 10x)
        self.link = array("q", (int(users.lognormvariate(6, 2)) for _ in range(n["users"])))
        self.comment = array("q", (int(users.lognormvariate(5.5, 2)) for _ in range(n["users"])))
        self.age = array("q", (users.randint(1, 5000) for _ in range(n["users"])))
        cum = array("d", itertools.accumulate(r.paretovariate(1.2) for _ in range(n["users"])))
        self.author_cum, self.author_total = cum, cum[-1]
        self.stats: list[_SubStats | None] = [None] * len(self.subs)
        self.rng = r

    @staticmethod
    def _review(x: float) -> str | None:
        for name, p in REVIEWS:
            if x < p:
                return name
            x -= p
        return None

    def discoveries(self) -> Iterator[Envelope[Any]]:
        for i, at in enumerate(self.found):
            yield self.g.env("disc", i, SubredditDiscovered(
                name=subreddit_name(i), via_user=username(i % self.g.n["users"])), at=at)

    def _fetched(self, i: int, subs: int, final: bool) -> SubredditFetched:
        r, st = self.rng, self.stats[i] or _SubStats()
        avg = st.score / st.n if st.n else max(1.0, subs ** 0.55 / 10)
        eng = st.comments / st.score if st.score > 0 else 0.0
        req = st.req if final else None
        name = subreddit_name(i)
        rules = [SubredditRule(short_name=s, description=d, priority=k)
                 for k, (s, d) in enumerate(r.sample(RULES, 2 + i % 5))]
        return SubredditFetched(
            name=name, reddit_id=f"t5_{i:x}", title=name.title(),
            public_description=f"A community about {WORDS[i % len(WORDS)]}",
            subscribers=subs, active_users=int(subs * r.uniform(0.001, 0.02)),
            created_utc=self.g.now - DAY * (400 + i % 4000), over18=i % 10 < 7,
            url=f"/r/{name}/", allow_images=True, allow_videos=i % 5 != 0, rules=rules,
            metrics=SubredditMetrics(posts_sampled=min(100, st.n), avg_upvotes_per_post=round(avg, 2),
                                     engagement=round(eng, 6),
                                     subreddit_score=round(math.sqrt(max(0.0, eng * avg * 1000)), 2)),
            requirements=req, verification_required=i % 7 == 0,
            suggested_review=self.review[i] if final else None,
        )

    def first_snapshots(self) -> Iterator[Envelope[Any]]:
        """What the first fetch saw (fewer members), just after the discovery."""
        for i, subs in enumerate(self.subs):
            at = self.found[i] + min(timedelta(hours=1), (self.g.now - self.found[i]) / 3)
            yield self.g.env("sub", i, self._fetched(i, int(subs * self.rng.uniform(0.85, 0.98)), False), at=at)

    def final_snapshots(self) -> Iterator[Envelope[Any]]:
        """The latest fetch (after the posts): metrics and requirements from the posts seen."""
        for i, subs in enumerate(self.subs):
            at = max(self.found[i] + timedelta(hours=1, minutes=1), self.g.now - timedelta(minutes=1 + i % 300))
            yield self.g.env("subnow", i, self._fetched(i, subs, True), at=min(at, self.g.now))

    def users(self) -> Iterator[Envelope[Any]]:
        r = random.Random(f"b9-seed-{self.g.scale}-userfacts")
        now = self.g.now
        for i in range(self.g.n["users"]):
            link, comment, age = self.link[i], self.comment[i], self.age[i]
            yield self.g.env("user", i, UserFetched(
                username=username(i), reddit_id=f"t2_{i:x}", account_age_days=age,
                created_utc=now - DAY * age, link_karma=link, comment_karma=comment,
                total_karma=link + comment, karma_per_day=round((link + comment) / age, 3),
                verified=r.random() < 0.6, has_verified_email=r.random() < 0.8,
                avg_post_score=round(r.lognormvariate(3, 1.5), 2), posts_sampled=r.randint(0, 100),
                preferred_content_type=r.choice(CONTENT), most_active_hour=int(r.triangular(0, 24, 18)) % 24,
                most_active_day=r.randint(0, 6),
            ), at=now - timedelta(minutes=r.randint(5, 7 * 24 * 60)))

    def posts(self) -> Iterator[Envelope[Any]]:
        """Posts per subreddit ~ subscribers^0.6 (scaled to the total), chunks of 100. A post's
        time: a day in the last 30 (recent ones a little busier), an hour near the subreddit's
        golden hour (the daily rhythm), a second; its score is lifted near that hour and on
        the subreddit's good weekday."""
        r, total, now = self.rng, self.g.n["posts"], self.g.now
        weights = [s ** 0.6 for s in self.subs]
        wsum = sum(weights)
        counts = [int(w / wsum * total) for w in weights]
        counts[0] += total - sum(counts)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today_ts, now_ts, wd0 = today.timestamp(), now.timestamp(), today.weekday()
        rand, pareto = r.random, r.paretovariate  # plain random() draws: this loop runs 1.83 M times at full
        batch: list[RedditPost] = []
        k = n = 0
        for si, cnt in enumerate(counts):
            name, scale = subreddit_name(si), max(1.0, self.subs[si] ** 0.5 / 20)
            golden, good_day, nsfw = self.golden[si], self.day_bias[si], si % 10 < 7
            lift = [scale * (1.6 + math.cos(2 * math.pi * (h - golden) / 24)) for h in range(24)]
            authors: dict[int, None] = {}
            hour_sum, hour_n, day_sum, day_n = [0] * 24, [0] * 24, [0] * 7, [0] * 7
            sum_score = sum_comments = 0
            for _ in range(cnt):
                hour = int(golden + 7 * (rand() + rand() + rand() - 1.5)) % 24  # ~normal, sd 3.5 h
                days = int(30 * rand() ** 1.15)
                ts = today_ts - days * 86400 + hour * 3600 + int(rand() * 3600)
                if ts > now_ts:
                    ts, days = ts - 86400, days + 1
                wd = (wd0 - days) % 7
                ctype: ContentType = CONTENT[int(rand() * len(CONTENT))]
                score = int((lift[hour] + (scale * 0.5 if wd == good_day else 0.0)) * (pareto(1.3) - 1))
                comments = int(score * (0.02 + 0.28 * rand()))
                ai = bisect.bisect_left(self.author_cum, rand() * self.author_total)
                title = f"post {n} in r/{name}"
                batch.append(RedditPost(
                    reddit_id=f"{n:x}", subreddit=name, author=username(ai), title=title, score=score,
                    num_comments=comments, upvote_ratio=round(0.7 + 0.3 * rand(), 2), over_18=nsfw,
                    is_video=ctype == "video", is_gallery=ctype == "gallery", is_self=ctype == "text",
                    created_utc=datetime.fromtimestamp(ts, UTC), content_type=ctype, post_length=len(title),
                    posting_hour=hour, posting_day_of_week=wd, has_thumbnail=ctype != "text",
                    comment_to_upvote_ratio=round(comments / score, 4) if score > 0 else 0.0,
                ))
                if len(authors) < AUTHORS_SAMPLED:
                    authors.setdefault(ai, None)
                sum_score += score
                sum_comments += comments
                if score > 0:
                    hour_sum[hour] += score
                    hour_n[hour] += 1
                    day_sum[wd] += score
                    day_n[wd] += 1
                n += 1
                if len(batch) == 100:
                    yield self._posts_env(k, batch)
                    k, batch = k + 1, []
            self.stats[si] = _SubStats(cnt, sum_score, sum_comments, self._requirements(
                list(authors), hour_sum, hour_n, day_sum, day_n))
        if batch:
            yield self._posts_env(k, batch)

    def _requirements(self, a: list[int], hour_sum: list[int], hour_n: list[int], day_sum: list[int],
                      day_n: list[int]) -> PostingRequirements | None:
        if not a:
            return None
        return PostingRequirements(
            min_post_karma=_low([self.link[k] for k in a]), min_comment_karma=_low([self.comment[k] for k in a]),
            min_account_age_days=_low([self.age[k] for k in a]), best_posting_hour=_best(hour_sum, hour_n),
            best_posting_day=_best(day_sum, day_n), authors_sampled=len(a))

    def _posts_env(self, k: int, batch: list[RedditPost]) -> Envelope[Any]:
        subs = {p.subreddit for p in batch}
        sub = next(iter(subs)) if len(subs) == 1 else None
        listing: Literal["subreddit_top_week", "other"] = "subreddit_top_week" if sub else "other"
        newest = max(p.created_utc for p in batch)
        return self.g.env("posts", k, PostsFetched(listing=listing, subreddit=sub, posts=batch),
                          at=min(self.g.now, newest + timedelta(minutes=5)))

    def categorizations(self) -> Iterator[Envelope[Any]]:
        r = random.Random(f"b9-seed-{self.g.scale}-subtags")
        for i in range(len(self.subs)):
            # every Ok subreddit is tagged (Posting recommends by tags), 60 % of the others
            if self.review[i] == "Ok" or r.random() < 0.6:
                tags = r.sample(TAGS, r.randint(1, 3))
                yield self.g.env("subtags", i, SubredditCategorized(
                    name=subreddit_name(i), tags=tags, primary_category=tags[0].split(":")[0],
                    confidence=round(r.uniform(0.5, 1), 2), taxonomy_version="1",
                    model="seed", method="rules"), at=self.g.now - timedelta(minutes=30 + i % 600))
