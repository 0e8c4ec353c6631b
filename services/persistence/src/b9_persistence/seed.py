"""Synthetic facts at the original system's size, published through JetStream.

``await seed(publisher, "small" | "full", progress=cb)`` publishes subreddits, users, posts
(``posts.fetched`` batches of 100), creators with reels and posts, and categorizations.
Distributions are long-tailed: lognormal subscribers/karma/followers, Pareto post scores,
post counts and authorship concentrated on popular subreddits and users. Everything (ids,
names, values, ``occurred_at``) derives from a fixed seed, so re-seeding publishes the same
event ids and the read model does not change.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from b9_common.events import (
    CreatorAnalytics,
    CreatorCategorized,
    CreatorScraped,
    Envelope,
    IgMedia,
    PostsFetched,
    RedditPost,
    SubredditCategorized,
    SubredditFetched,
    SubredditMetrics,
    UserFetched,
)
from b9_common.events.reddit import ContentType
from b9_common.publisher import Publisher

Progress = Callable[[str, int, int], None]

SCALES: dict[str, dict[str, int]] = {
    "full": {"subreddits": 34_682, "users": 309_608, "posts": 1_830_000, "creators": 1_247},
    "small": {"subreddits": 347, "users": 3_096, "posts": 18_300, "creators": 125},
}
CHUNK = 2_000  # envelopes per publish_many call
BASE = datetime(2025, 1, 1, tzinfo=UTC)
WORDS = ("fit", "gym", "yoga", "cosplay", "anime", "gamer", "petite", "curvy", "goth", "alt",
         "tattoo", "redhead", "blonde", "brunette", "asian", "latina", "ebony", "milf", "college",
         "beach", "hiking", "outdoor", "selfie", "feet", "legs", "booty", "thick", "slim", "pale",
         "tan", "nerd", "art", "music", "travel", "food", "pets", "cars", "photo", "style", "dance")
NOUNS = ("girls", "lovers", "hub", "club", "pics", "daily", "world", "zone", "nation", "life",
         "gw", "porn", "irl", "central", "posting", "fans", "spot", "heaven", "corner", "only")
TAGS = ("niche:fitness", "niche:cosplay", "niche:gaming", "niche:anime", "niche:yoga",
        "body:petite", "body:curvy", "body:thick", "style:goth", "style:alt", "hair:redhead",
        "hair:blonde", "ethnicity:asian", "ethnicity:latina", "age:college", "niche:general")
CONTENT: tuple[ContentType, ...] = ("image", "image", "image", "video", "gallery", "text", "link")


def subreddit_name(i: int) -> str:
    a, b, c = i % len(WORDS), (i // len(WORDS)) % len(NOUNS), i // (len(WORDS) * len(NOUNS))
    return f"{WORDS[a]}{NOUNS[b]}" + (str(c) if c else "")


def username(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]}_{NOUNS[(i // len(WORDS)) % len(NOUNS)]}{i // 800 or ''}"


class _Gen:
    def __init__(self, publisher: Publisher, scale: str) -> None:
        self.p, self.scale = publisher, scale
        self.n = SCALES[scale]
        self.rng = random.Random(f"b9-seed-{scale}")
        self.subs = [min(60_000_000, int(self.rng.lognormvariate(7.5, 2.2)) + 10)
                     for _ in range(self.n["subreddits"])]
        # Authors: Pareto weights, so a few users write many posts.
        cum = list(itertools.accumulate(self.rng.paretovariate(1.2)
                                        for _ in range(self.n["users"])))
        self.author_cum, self.author_total = cum, cum[-1]

    def env(self, kind: str, i: int, payload: Any, minutes: float) -> Envelope[Any]:
        return self.p.envelope(payload, id_=f"seed-{self.scale}-{kind}-{i}",
                               occurred_at=BASE + timedelta(minutes=minutes))

    def author(self) -> str:
        x = self.rng.random() * self.author_total
        return username(bisect.bisect_left(self.author_cum, x))

    def subreddits(self) -> Iterator[Envelope[Any]]:
        r = self.rng
        for i, subs in enumerate(self.subs):
            avg = max(1.0, subs ** 0.55 * r.lognormvariate(0, 0.6) / 10)
            yield self.env("sub", i, SubredditFetched(
                name=subreddit_name(i), reddit_id=f"t5_{i:x}", title=subreddit_name(i).title(),
                public_description=f"A community about {WORDS[i % len(WORDS)]}",
                subscribers=subs, active_users=int(subs * r.uniform(0.001, 0.02)),
                created_utc=BASE - timedelta(days=r.randint(30, 5000)), over18=r.random() < 0.7,
                url=f"/r/{subreddit_name(i)}/", allow_images=True, allow_videos=r.random() < 0.8,
                metrics=SubredditMetrics(posts_sampled=min(100, int(subs ** 0.4)),
                                         avg_upvotes_per_post=round(avg, 2),
                                         engagement=round(r.betavariate(2, 8), 4),
                                         subreddit_score=round(avg ** 0.5 * 10, 2)),
                verification_required=r.random() < 0.15,
            ), i / 60)

    def users(self) -> Iterator[Envelope[Any]]:
        r = self.rng
        for i in range(self.n["users"]):
            link, comment = int(r.lognormvariate(6, 2)), int(r.lognormvariate(5.5, 2))
            age = r.randint(1, 5000)
            yield self.env("user", i, UserFetched(
                username=username(i), reddit_id=f"t2_{i:x}", account_age_days=age,
                created_utc=BASE - timedelta(days=age), link_karma=link, comment_karma=comment,
                total_karma=link + comment, karma_per_day=round((link + comment) / age, 3),
                verified=r.random() < 0.6, has_verified_email=r.random() < 0.8,
                avg_post_score=round(r.lognormvariate(3, 1.5), 2), posts_sampled=r.randint(0, 100),
                preferred_content_type=r.choice(CONTENT), most_active_hour=r.randint(0, 23),
                most_active_day=r.randint(0, 6),
            ), i / 600)

    def posts(self) -> Iterator[Envelope[Any]]:
        """Posts per subreddit ~ subscribers^0.6 (scaled to the total), chunks of 100."""
        r, total = self.rng, self.n["posts"]
        weights = [s ** 0.6 for s in self.subs]
        wsum = sum(weights)
        counts = [int(w / wsum * total) for w in weights]
        counts[0] += total - sum(counts)
        batch: list[RedditPost] = []
        k = n = 0
        for si, cnt in enumerate(counts):
            name, scale = subreddit_name(si), max(1.0, self.subs[si] ** 0.5 / 20)
            for _ in range(cnt):
                created = BASE - timedelta(minutes=r.randint(0, 7 * 24 * 60))
                ctype = r.choice(CONTENT)
                score = int(scale * (r.paretovariate(1.3) - 1))
                comments = int(score * r.uniform(0.02, 0.3))
                batch.append(RedditPost(
                    reddit_id=f"{n:x}", subreddit=name, author=self.author(),
                    title=f"post {n}", score=score, num_comments=comments,
                    upvote_ratio=round(r.uniform(0.7, 1.0), 2), over_18=r.random() < 0.7,
                    is_video=ctype == "video", is_gallery=ctype == "gallery",
                    is_self=ctype == "text", created_utc=created, content_type=ctype,
                    post_length=len(f"post {n}"), posting_hour=created.hour,
                    posting_day_of_week=created.weekday(), has_thumbnail=ctype != "text",
                    comment_to_upvote_ratio=round(comments / score, 4) if score > 0 else 0.0,
                ))
                n += 1
                if len(batch) == 100:
                    yield self._posts_env(k, batch)
                    k, batch = k + 1, []
        if batch:
            yield self._posts_env(k, batch)

    def _posts_env(self, k: int, batch: list[RedditPost]) -> Envelope[Any]:
        subs = {p.subreddit for p in batch}
        sub = next(iter(subs)) if len(subs) == 1 else None
        listing: Literal["subreddit_top_week", "other"] = "subreddit_top_week" if sub else "other"
        return self.env("posts", k, PostsFetched(listing=listing, subreddit=sub, posts=batch),
                        600 + k / 60)

    def creators(self) -> Iterator[Envelope[Any]]:
        r = self.rng
        for i in range(self.n["creators"]):
            followers = int(r.lognormvariate(10.5, 1.5))
            views = followers * r.uniform(0.05, 2.0)
            items = []
            for j in range(24):
                kind: Literal["reel", "post"] = "reel" if j < 12 else "post"
                plays = int(views * r.lognormvariate(0, 1))
                likes = int(plays * r.uniform(0.01, 0.1))
                items.append(IgMedia(
                    media_pk=f"{i}{j:03d}9", kind=kind, shortcode=f"s{i}x{j}",
                    post_type="reel" if kind == "reel" else r.choice(("image", "carousel")),
                    taken_at=BASE - timedelta(days=j * r.uniform(0.5, 3)), play_count=plays,
                    like_count=likes, comment_count=likes // 30, engagement_count=likes * 31 // 30,
                    engagement_rate=round(likes / max(1, followers), 4),
                    is_viral=plays > max(50_000, 5 * views),
                ))
            yield self.env("creator", i, CreatorScraped(
                ig_user_id=str(4_000_000 + i), username=f"{WORDS[i % len(WORDS)]}.creator{i}",
                full_name=f"Creator {i}", followers_count=followers,
                following_count=r.randint(50, 3000), media_count=r.randint(20, 3000),
                analytics=CreatorAnalytics(avg_reel_views=round(views, 1),
                                           engagement_rate=round(r.betavariate(2, 30), 4)),
                reels=items[:12], posts=items[12:], discovery_source="seed",
            ), 900 + i / 60)

    def categorizations(self) -> Iterator[Envelope[Any]]:
        r = self.rng
        for i in range(self.n["subreddits"]):
            if r.random() < 0.6:
                tags = r.sample(TAGS, r.randint(1, 2))
                yield self.env("subtags", i, SubredditCategorized(
                    name=subreddit_name(i), tags=tags, primary_category=tags[0].split(":")[0],
                    confidence=round(r.uniform(0.5, 1), 2), taxonomy_version="1",
                    model="seed", method="rules"), 1000 + i / 60)
        for i in range(self.n["creators"]):
            tags = r.sample(TAGS, 3)
            yield self.env("crtags", i, CreatorCategorized(
                ig_user_id=str(4_000_000 + i), tags=tags,
                confidence={t: round(r.uniform(0.5, 1), 2) for t in tags},
                taxonomy_version="1", model="seed", method="rules"), 1100 + i / 60)


async def seed(publisher: Publisher, scale: str = "small", *,
               progress: Progress | None = None) -> dict[str, int]:
    """Publish the synthetic data set; returns events published per phase."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}")
    gen = _Gen(publisher, scale)
    n = gen.n
    phases: list[tuple[str, Callable[[], Iterator[Envelope[Any]]], int]] = [
        ("subreddits", gen.subreddits, n["subreddits"]),
        ("users", gen.users, n["users"]),
        ("posts", gen.posts, (n["posts"] + 99) // 100),
        ("creators", gen.creators, n["creators"]),
        ("categorizations", gen.categorizations, 0),
    ]
    done: dict[str, int] = {}
    for phase, make, expected in phases:
        count = 0
        it = make()
        while chunk := list(itertools.islice(it, CHUNK)):
            count += await publisher.publish_many(chunk)
            if progress:
                progress(phase, count, expected or count)
        done[phase] = count
    return done
