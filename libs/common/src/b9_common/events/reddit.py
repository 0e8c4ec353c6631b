"""Reddit facts (stream SCRAPE). Published by reddit-scraper, stored by persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from b9_common.events.types import Hour, Name, NonNegInt, Ratio, Url, Weekday

# What the scraper learned about a subreddit's reachability.
SubredditAvailability = Literal["ok", "private", "quarantined", "banned", "not_found", "restricted"]
ContentType = Literal["image", "video", "gallery", "text", "link"]


class SubredditRule(msgspec.Struct, kw_only=True):
    short_name: str
    description: str = ""
    kind: str = "all"
    priority: int = 0
    violation_reason: str = ""


class SubredditMetrics(msgspec.Struct, kw_only=True):
    """Metrics over the sampled top-of-week posts (see reddit-scraper's metrics module)."""

    posts_sampled: NonNegInt = 0
    avg_upvotes_per_post: float = 0.0
    engagement: float = 0.0
    subreddit_score: float = 0.0
    formula: str = "b9-v1"


class PostingRequirements(msgspec.Struct, kw_only=True):
    """10th-percentile karma and account age of the subreddit's observed posters."""

    min_post_karma: int | None = None
    min_comment_karma: int | None = None
    min_account_age_days: int | None = None
    best_posting_hour: Hour | None = None
    best_posting_day: Weekday | None = None
    authors_sampled: NonNegInt = 0


class SubredditFetched(msgspec.Struct, kw_only=True):
    """``subreddit.fetched``: one subreddit's about + rules + metrics."""

    name: Name
    availability: SubredditAvailability = "ok"
    reddit_id: str | None = None
    title: str = ""
    public_description: str = ""
    description: str = ""
    subscribers: NonNegInt | None = None
    active_users: NonNegInt | None = None
    created_utc: datetime | None = None
    over18: bool = False
    subreddit_type: str = "public"
    lang: str | None = None
    url: str | None = None
    icon_img: Url | None = None
    banner_img: Url | None = None
    primary_color: str | None = None
    allow_images: bool | None = None
    allow_videos: bool | None = None
    allow_polls: bool | None = None
    spoilers_enabled: bool | None = None
    quarantine: bool = False
    submit_text: str = ""
    submission_type: str | None = None
    rules: list[SubredditRule] = msgspec.field(default_factory=list)
    metrics: SubredditMetrics = msgspec.field(default_factory=SubredditMetrics)
    requirements: PostingRequirements | None = None
    verification_required: bool = False
    # Review the keyword auto-review suggests; persistence applies it only when no review exists.
    suggested_review: str | None = None
    # Set when the fetch was asked for by a person (gateway "add subreddit").
    requested: bool = False


class RedditPost(msgspec.Struct, kw_only=True):
    reddit_id: Name
    subreddit: Name
    author: str | None = None
    title: str = ""
    selftext: str = ""
    url: Url | None = None
    permalink: str | None = None
    domain: str | None = None
    score: int = 0
    num_comments: NonNegInt = 0
    upvote_ratio: Ratio | None = None
    over_18: bool = False
    spoiler: bool = False
    stickied: bool = False
    is_self: bool = False
    is_video: bool = False
    is_gallery: bool = False
    is_crosspost: bool = False
    link_flair_text: str | None = None
    thumbnail: Url | None = None
    created_utc: datetime
    # Derived on the scraper side, same formulas for every consumer.
    content_type: ContentType = "link"
    post_length: NonNegInt = 0
    posting_hour: Hour = 0
    posting_day_of_week: Weekday = 0
    has_thumbnail: bool = False
    comment_to_upvote_ratio: float = 0.0


class PostsFetched(msgspec.Struct, kw_only=True):
    """``posts.fetched``: a batch of posts (a subreddit's top of the week or a user's recent)."""

    listing: Literal["subreddit_top_week", "user_submitted", "other"] = "other"
    subreddit: str | None = None
    author: str | None = None
    posts: list[RedditPost] = msgspec.field(default_factory=list)


UserAvailability = Literal["ok", "suspended", "not_found", "shadowbanned"]


class UserFetched(msgspec.Struct, kw_only=True):
    """``user.fetched``: one Reddit user's profile and activity figures."""

    username: Name
    availability: UserAvailability = "ok"
    reddit_id: str | None = None
    created_utc: datetime | None = None
    account_age_days: NonNegInt | None = None
    link_karma: int | None = None
    comment_karma: int | None = None
    total_karma: int | None = None
    karma_per_day: float | None = None
    is_gold: bool = False
    is_mod: bool = False
    verified: bool = False
    has_verified_email: bool | None = None
    icon_img: Url | None = None
    bio: str = ""
    bio_url: Url | None = None
    avg_post_score: float | None = None
    avg_post_comments: float | None = None
    preferred_content_type: ContentType | None = None
    most_active_hour: Hour | None = None
    most_active_day: Weekday | None = None
    posts_sampled: NonNegInt = 0
    requested: bool = False


class SubredditDiscovered(msgspec.Struct, kw_only=True):
    """``subreddit.discovered``: a name seen in an author's posts, not yet known."""

    name: Name
    via_user: str | None = None
    via_subreddit: str | None = None
    # ``u_`` profile subreddits become "User Feed" without a call.
    user_feed: bool = False


__all__ = [
    "PostingRequirements",
    "PostsFetched",
    "RedditPost",
    "SubredditDiscovered",
    "SubredditFetched",
    "SubredditMetrics",
    "SubredditRule",
    "UserFetched",
]

