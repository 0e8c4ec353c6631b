"""A small, deterministic dataset published as real facts (loaded by the persistence service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from b9_common.events import (
    CreatorDiscovered,
    CreatorScraped,
    IgMedia,
    MediaStored,
    PostingRequirements,
    PostsFetched,
    RedditPost,
    ScrapeAttempted,
    SubredditCategorized,
    SubredditFetched,
    SubredditMetrics,
    SubredditRule,
    UserFetched,
)

NOW = datetime.now(UTC).replace(microsecond=0)
SUBS = [f"sub{i:02d}" for i in range(12)]
USERS = [f"user_{i}" for i in range(6)]
CREATORS = [f"creator.{i}" for i in range(4)]
THUMB_KEY = "ab/cd/abcdef0123.jpg"
THUMB_BYTES = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


def subreddit(i: int) -> SubredditFetched:
    return SubredditFetched(
        name=SUBS[i],
        title=f"Title {i} {'cosplay' if i % 3 == 0 else 'fitness'}",
        public_description=f"Community number {i} about {'cats' if i % 2 else 'dogs'}",
        subscribers=1000 * (i + 1),
        active_users=10 * i,
        over18=i % 4 == 0,
        rules=[SubredditRule(short_name="No spam", description="Do not spam", priority=0)],
        metrics=SubredditMetrics(
            posts_sampled=10, avg_upvotes_per_post=float(100 - i), engagement=0.01 * i, subreddit_score=float(50 + i)
        ),
        requirements=PostingRequirements(
            min_post_karma=10 * i,
            min_comment_karma=5,
            min_account_age_days=i,
            best_posting_hour=i % 24,
            authors_sampled=8,
        ),
        verification_required=i % 5 == 0,
        suggested_review="Ok" if i < 6 else ("No Seller" if i < 8 else None),
    )


def posts(i: int) -> PostsFetched:
    items = []
    for j in range(5):
        created = NOW - timedelta(hours=2 + j + i)
        items.append(
            RedditPost(
                reddit_id=f"p{i:02d}{j}",
                subreddit=SUBS[i],
                author=USERS[(i + j) % len(USERS)],
                title=f"Post {j} in {SUBS[i]}",
                score=10 * (j + 1) + i,
                num_comments=j * 3,
                upvote_ratio=0.9,
                created_utc=created,
                content_type="image",
                posting_hour=created.hour,
                posting_day_of_week=created.weekday(),
            )
        )
    return PostsFetched(subreddit=SUBS[i], listing="subreddit_top_week", posts=items)


def user(i: int) -> UserFetched:
    return UserFetched(
        username=USERS[i],
        account_age_days=100 + i,
        link_karma=1000 * i,
        comment_karma=10 * i,
        total_karma=1010 * i,
        karma_per_day=float(i),
        avg_post_score=float(5 * i),
    )


def media(c: int, k: int, kind: str) -> IgMedia:
    return IgMedia(
        media_pk=f"m{c}{kind[0]}{k}",
        kind=kind,
        post_type="reel" if kind == "reel" else "image",  # type: ignore[arg-type]
        taken_at=NOW - timedelta(days=k + c),
        caption=f"caption {c} {k} beach",
        play_count=1000 * (k + 1) * (c + 1),
        like_count=100 * (k + 1),
        comment_count=k,
        engagement_rate=0.01 * (k + 1),
        thumbnail_url=f"https://cdn.example.com/t/{c}/{k}.jpg",
    )


def creator(c: int, followers: int | None = None) -> CreatorScraped:
    return CreatorScraped(
        ig_user_id=f"9{c:03d}",
        username=CREATORS[c],
        full_name=f"Creator {c}",
        biography=f"bio of {c} yoga",
        followers_count=followers if followers is not None else 10_000 * (c + 1),
        following_count=100,
        media_count=50,
        reels=[media(c, k, "reel") for k in range(3)],
        posts=[media(c, k, "post") for k in range(2)],
        discovery_source="manual",
    )


def attempts() -> list[ScrapeAttempted]:
    out = [
        ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=s, outcome="success", calls=3, cycle=7)
        for s in SUBS[:8]
    ]
    out += [ScrapeAttempted(scraper="reddit", target_kind="subreddit", target="gone", outcome="not_found", calls=1)]
    out += [
        ScrapeAttempted(
            scraper="instagram", target_kind="creator", target=c, outcome="success", calls=2, cost_usd=0.0006
        )
        for c in CREATORS
    ]
    return out


def facts() -> list[Any]:
    out: list[Any] = [subreddit(i) for i in range(len(SUBS))]
    out += [posts(i) for i in range(len(SUBS))]
    out += [user(i) for i in range(len(USERS))]
    out += [creator(c) for c in range(len(CREATORS))]
    out += [CreatorDiscovered(username="found.one", via_username=CREATORS[0], followers_count=500)]
    out += attempts()
    out += [
        SubredditCategorized(
            name=SUBS[0],
            tags=["niche:cosplay"],
            primary_category="niche",
            taxonomy_version="reddit-v1",
            model="rules",
            method="rules",
        )
    ]
    out += [
        MediaStored(
            source_url="https://cdn.example.com/t/0/0.jpg",
            source_id="m0r0",
            owner="9000",
            kind="thumbnail",
            content_hash="abcdef0123",
            storage_key=THUMB_KEY,
            content_type="image/jpeg",
            bytes_in=100,
            bytes_out=len(THUMB_BYTES),
        )
    ]
    return out


EXPECTED = {
    "subreddits": len(SUBS),
    "reddit_posts": 5 * len(SUBS),
    "reddit_users": len(USERS),
    "instagram_creators": len(CREATORS) + 1,
    "scrape_attempts": len(attempts()),
    "media_assets": 1,
    "categorizations": 1,
}
