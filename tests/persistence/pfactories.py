"""Payloads with every field set (not defaults), for the persistence tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from b9_common.events import (
    BioLink,
    CreatorAnalytics,
    CreatorCategorized,
    CreatorDiscovered,
    CreatorScraped,
    FollowerGrowth,
    IgMedia,
    MediaFailed,
    MediaStored,
    PostingRequirements,
    PostsFetched,
    RedditPost,
    RelatedProcessed,
    ScrapeAttempted,
    SubredditCategorized,
    SubredditDiscovered,
    SubredditFetched,
    SubredditMetrics,
    SubredditRule,
    UserFetched,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def subreddit(name: str = "FitGirls", subscribers: int = 120_000, **kw: Any) -> SubredditFetched:
    base: dict[str, Any] = dict(
        name=name, availability="ok", reddit_id="t5_abc", title="Fit girls",
        public_description="public desc", description="long description",
        subscribers=subscribers, active_users=321, created_utc=at(-10_000), over18=True,
        subreddit_type="public", lang="en", url=f"/r/{name}/", icon_img="https://i.example/icon.png",
        banner_img="https://i.example/banner.png", primary_color="#ff0000", allow_images=True,
        allow_videos=False, allow_polls=True, spoilers_enabled=False, quarantine=False,
        submit_text="be nice", submission_type="any",
        rules=[SubredditRule(short_name="No spam", description="none", kind="link", priority=1,
                             violation_reason="spam")],
        metrics=SubredditMetrics(posts_sampled=30, avg_upvotes_per_post=12.5, engagement=0.25,
                                 subreddit_score=44.1, formula="b9-v1"),
        requirements=PostingRequirements(min_post_karma=10, min_comment_karma=5,
                                         min_account_age_days=30, best_posting_hour=14,
                                         best_posting_day=2, authors_sampled=25),
        verification_required=True, suggested_review=None, requested=True,
    )
    base.update(kw)
    return SubredditFetched(**base)


def post(reddit_id: str, sub: str = "FitGirls", score: int = 50, **kw: Any) -> RedditPost:
    base: dict[str, Any] = dict(
        reddit_id=reddit_id, subreddit=sub, author="alice", title="hello", selftext="body",
        url="https://i.redd.it/x.jpg", permalink=f"/r/{sub}/comments/{reddit_id}/",
        domain="i.redd.it", score=score, num_comments=7, upvote_ratio=0.93, over_18=True,
        spoiler=False, stickied=False, is_self=False, is_video=False, is_gallery=False,
        is_crosspost=False, link_flair_text="OC", thumbnail="https://t.example/x.jpg",
        created_utc=at(-60), content_type="image", post_length=4, posting_hour=11,
        posting_day_of_week=5, has_thumbnail=True, comment_to_upvote_ratio=0.14,
    )
    base.update(kw)
    return RedditPost(**base)


def posts(ids: list[str], sub: str = "FitGirls", **kw: Any) -> PostsFetched:
    return PostsFetched(listing="subreddit_top_week", subreddit=sub,
                        posts=[post(i, sub, **kw) for i in ids])


def user(username: str = "alice", total_karma: int = 1500) -> UserFetched:
    return UserFetched(
        username=username, availability="ok", reddit_id="t2_u1", created_utc=at(-500_000),
        account_age_days=400, link_karma=1000, comment_karma=500, total_karma=total_karma,
        karma_per_day=3.75, is_gold=True, is_mod=False, verified=True, has_verified_email=True,
        icon_img="https://i.example/u.png", bio="hi", bio_url="https://link.example",
        avg_post_score=33.3, avg_post_comments=4.4, preferred_content_type="image",
        most_active_hour=21, most_active_day=6, posts_sampled=20, requested=True,
    )


def discovered(name: str, user_feed: bool = False) -> SubredditDiscovered:
    return SubredditDiscovered(name=name, via_user="alice", via_subreddit="FitGirls",
                               user_feed=user_feed)


def media(pk: str, kind: str = "reel") -> IgMedia:
    return IgMedia(
        media_pk=pk, kind=kind, media_id=f"{pk}_1", shortcode=f"sc{pk}", product_type="clips",
        post_type="reel" if kind == "reel" else "carousel", taken_at=at(-300), caption="cap",
        hashtags=["fit", "gym"], mentions=["bob"], play_count=90_000, view_count=80_000,
        like_count=5000, comment_count=120, share_count=40, save_count=60,
        engagement_count=5220, engagement_rate=0.052, duration=14.5,
        video_url="https://cdn.example/v.mp4", thumbnail_url="https://cdn.example/t.jpg",
        image_urls=["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"],
        carousel_media_count=2, width=1080, height=1920, is_paid_partnership=True, is_viral=True,
    )


def creator(ig_user_id: str = "1001", username: str = "fit.anna", followers: int = 50_000,
            **kw: Any) -> CreatorScraped:
    base: dict[str, Any] = dict(
        ig_user_id=ig_user_id, username=username, availability="ok", full_name="Anna",
        biography="coach", external_url="https://anna.example", external_url_type="linktree",
        bio_links=[BioLink(url="https://of.example/anna", title="OF", link_type="onlyfans")],
        profile_pic_url="https://cdn.example/pp.jpg", is_verified=True, is_private=False,
        is_business=True, is_professional=True, followers_count=followers, following_count=300,
        media_count=410, highlight_reel_count=5,
        growth=FollowerGrowth(daily_pct=0.5, weekly_pct=2.5, previous_followers_count=49_000),
        analytics=CreatorAnalytics(
            avg_reel_views=80_000.0, avg_reel_likes=5000.0, avg_reel_comments=100.0,
            avg_reel_saves=60.0, avg_reel_shares=40.0, avg_post_likes=3000.0,
            avg_post_comments=50.0, avg_post_engagement=3050.0, content_reach_rate=1.6,
            reel_engagement_rate=0.1, post_engagement_rate=0.06, engagement_rate=0.08,
            viral_reels=2, viral_posts=1, viral_content_count=3, viral_content_rate=0.1,
            viral_min_views=50_000, viral_multiplier=5.0, comment_to_like_ratio=0.02,
            save_to_like_ratio=0.012, reels_vs_posts_performance=1.7, best_content_type="reel",
            posting_frequency_per_week=4.5, posting_consistency_score=0.8, last_post_days_ago=1,
            most_active_day=3, most_active_hour=19),
        reels=[media(f"{ig_user_id}01")], posts=[media(f"{ig_user_id}02", "post")],
        discovery_source="manual", requested_niche="fitness", requested=True, api_calls=3,
    )
    base.update(kw)
    return CreatorScraped(**base)


def creator_discovered(username: str, ig_user_id: str | None = None) -> CreatorDiscovered:
    return CreatorDiscovered(username=username, ig_user_id=ig_user_id, via_username="fit.anna",
                             full_name="New One", followers_count=12_000,
                             profile_pic_url="https://cdn.example/new.jpg")


def related(ig_user_id: str = "1001") -> RelatedProcessed:
    return RelatedProcessed(ig_user_id=ig_user_id, username="fit.anna", found=12, new=4)


def sub_tags(name: str = "FitGirls", tags: list[str] | None = None) -> SubredditCategorized:
    return SubredditCategorized(
        name=name, tags=tags or ["fitness", "gym"], primary_category="fitness", confidence=0.9,
        taxonomy_version="2025-01", model="gpt-4o-mini", method="openai", prompt_version="p3",
        content_hash="abc123", tokens_in=800, tokens_out=40, cost_usd=0.00021,
    )


def creator_tags(ig_user_id: str = "1001") -> CreatorCategorized:
    return CreatorCategorized(
        ig_user_id=ig_user_id, username="fit.anna", tags=["fitness", "blonde"],
        confidence={"fitness": 0.95, "blonde": 0.7}, taxonomy_version="2025-01",
        model="gpt-4o", method="openai", prompt_version="v2", content_hash="h1", tokens_in=2000,
        tokens_out=60, cost_usd=0.0031,
    )


def stored(source_id: str = "100101", kind: str = "video") -> MediaStored:
    return MediaStored(
        source_url="https://cdn.example/v.mp4", source_id=source_id, owner="1001", kind=kind,
        content_hash="sha256:aa", storage_key="media/aa.mp4", content_type="video/mp4",
        bytes_in=5_000_000, bytes_out=2_000_000, width=720, height=1280, duration=14.5,
        poster_key="media/aa.jpg", deduplicated=False,
    )


def failed(source_id: str = "100102") -> MediaFailed:
    return MediaFailed(source_url="https://cdn.example/1.jpg", source_id=source_id, owner="1001",
                       kind="photo", reason="too_large", detail="31 MB")


def attempt(target: str, outcome: str = "success", calls: int = 2,
            cost: float = 0.001) -> ScrapeAttempted:
    return ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=target,
                           outcome=outcome, calls=calls, cost_usd=cost, duration_ms=350,
                           error=None if outcome == "success" else "HTTP 429", cycle=7,
                           replica="r1")
