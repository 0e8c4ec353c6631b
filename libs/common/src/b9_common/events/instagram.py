"""Instagram facts (stream SCRAPE). Published by instagram-scraper, stored by persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from b9_common.events.types import Hour, Name, NonNegFloat, NonNegInt, Url, Weekday

CreatorAvailability = Literal["ok", "private", "not_found", "empty"]
MediaKind = Literal["reel", "post"]
PostType = Literal["reel", "carousel", "video", "image"]


class BioLink(msgspec.Struct, kw_only=True):
    url: Url
    title: str = ""
    link_type: str = "other"


class IgMedia(msgspec.Struct, kw_only=True):
    """One reel or post with its per-item engagement."""

    media_pk: Name
    kind: MediaKind
    media_id: str | None = None
    shortcode: str | None = None
    product_type: str | None = None
    post_type: PostType = "image"
    taken_at: datetime | None = None
    caption: str = ""
    hashtags: list[str] = msgspec.field(default_factory=list)
    mentions: list[str] = msgspec.field(default_factory=list)
    play_count: NonNegInt = 0
    view_count: NonNegInt = 0
    like_count: NonNegInt = 0
    comment_count: NonNegInt = 0
    share_count: NonNegInt = 0
    save_count: NonNegInt = 0
    engagement_count: NonNegInt = 0
    engagement_rate: NonNegFloat = 0.0
    duration: NonNegFloat | None = None
    video_url: Url | None = None
    thumbnail_url: Url | None = None
    image_urls: list[Url] = msgspec.field(default_factory=list)
    carousel_media_count: NonNegInt = 0
    width: NonNegInt | None = None
    height: NonNegInt | None = None
    is_paid_partnership: bool = False
    is_viral: bool = False


class CreatorAnalytics(msgspec.Struct, kw_only=True):
    """Figures computed over the fetched reels and posts (see instagram-scraper analytics)."""

    avg_reel_views: float = 0.0
    avg_reel_likes: float = 0.0
    avg_reel_comments: float = 0.0
    avg_reel_saves: float = 0.0
    avg_reel_shares: float = 0.0
    avg_post_likes: float = 0.0
    avg_post_comments: float = 0.0
    avg_post_engagement: float = 0.0
    content_reach_rate: float = 0.0
    reel_engagement_rate: float = 0.0
    post_engagement_rate: float = 0.0
    engagement_rate: float = 0.0
    viral_reels: NonNegInt = 0
    viral_posts: NonNegInt = 0
    viral_content_count: NonNegInt = 0
    viral_content_rate: float = 0.0
    viral_min_views: NonNegInt = 50_000
    viral_multiplier: float = 5.0
    comment_to_like_ratio: float = 0.0
    save_to_like_ratio: float = 0.0
    reels_vs_posts_performance: float = 0.0
    best_content_type: str | None = None
    posting_frequency_per_week: float = 0.0
    posting_consistency_score: float = 0.0
    last_post_days_ago: int | None = None
    most_active_day: Weekday | None = None
    most_active_hour: Hour | None = None


class FollowerGrowth(msgspec.Struct, kw_only=True):
    daily_pct: float | None = None
    weekly_pct: float | None = None
    previous_followers_count: NonNegInt | None = None


class CreatorScraped(msgspec.Struct, kw_only=True):
    """``creator.scraped``: a creator's profile, analytics and media items (with URLs)."""

    ig_user_id: Name
    username: Name
    availability: CreatorAvailability = "ok"
    full_name: str = ""
    biography: str = ""
    external_url: Url | None = None
    external_url_type: str | None = None
    bio_links: list[BioLink] = msgspec.field(default_factory=list)
    profile_pic_url: Url | None = None
    is_verified: bool = False
    is_private: bool = False
    is_business: bool = False
    is_professional: bool = False
    followers_count: NonNegInt = 0
    following_count: NonNegInt = 0
    media_count: NonNegInt = 0
    highlight_reel_count: NonNegInt = 0
    growth: FollowerGrowth = msgspec.field(default_factory=FollowerGrowth)
    analytics: CreatorAnalytics = msgspec.field(default_factory=CreatorAnalytics)
    reels: list[IgMedia] = msgspec.field(default_factory=list)
    posts: list[IgMedia] = msgspec.field(default_factory=list)
    discovery_source: str | None = None
    # Niche given by a person on manual add; persistence applies it only when none is set.
    requested_niche: str | None = None
    requested: bool = False
    api_calls: NonNegInt = 0


class CreatorDiscovered(msgspec.Struct, kw_only=True):
    """``creator.discovered``: a related creator not known before."""

    username: Name
    ig_user_id: str | None = None
    via_username: str | None = None
    full_name: str = ""
    followers_count: NonNegInt | None = None
    profile_pic_url: Url | None = None


class RelatedProcessed(msgspec.Struct, kw_only=True):
    """``creator.related_processed``: related-creator discovery ran for this creator."""

    ig_user_id: Name
    username: str = ""
    found: NonNegInt = 0
    new: NonNegInt = 0
