"""On-demand work (stream COMMANDS, work-queue). Published by the gateway and the CLI."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from b9_common.events.derived import MediaAssetKind
from b9_common.events.types import Name, Url


class RedditScrapeRequested(msgspec.Struct, kw_only=True):
    """``scrape.requested.reddit``: analyze one subreddit or discover one user, ahead of the cycle."""

    kind: Literal["subreddit", "user"]
    name: Name
    requested_by: str = "api"
    # Set by the gateway for an action a person can follow (``GET /api/v1/requests/{id}``):
    # the service that runs the command reports its state in KV bucket ``requests``.
    request_id: str | None = None


class InstagramScrapeRequested(msgspec.Struct, kw_only=True):
    """``scrape.requested.instagram``: add/refresh one creator, or run related discovery."""

    kind: Literal["creator", "related"]
    username: str | None = None
    niche: str | None = None
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 10
    requested_by: str = "api"
    request_id: str | None = None  # as RedditScrapeRequested.request_id


class CategorizeItem(msgspec.Struct, kw_only=True):
    """The content a categorization is computed from (the gateway reads it from PostgreSQL)."""

    kind: Literal["subreddit", "creator"]
    key: Name
    name: str = ""
    title: str = ""
    description: str = ""
    rules_text: str = ""
    image_urls: list[Url] = msgspec.field(default_factory=list)
    # Added for the categorizer: the subreddit's NSFW flag (None = unknown), and for creators
    # the captions of recent posts (the offline text tagger reads them).
    over18: bool | None = None
    captions: list[str] = msgspec.field(default_factory=list)


class CategorizeRequested(msgspec.Struct, kw_only=True):
    """``categorize.requested``: the "AI categorize" button, with the items to tag."""

    items: list[CategorizeItem]
    force: bool = False
    requested_by: str = "api"
    job_id: str | None = None
    request_id: str | None = None  # as RedditScrapeRequested.request_id (one request, N chunks)


class MediaItem(msgspec.Struct, kw_only=True):
    url: Url
    source_id: Name
    owner: str | None = None
    kind: MediaAssetKind = "photo"


class MediaRequested(msgspec.Struct, kw_only=True):
    """``media.requested``: backfill CDN URLs into object storage."""

    items: list[MediaItem]
    requested_by: str = "api"
    request_id: str | None = None  # as RedditScrapeRequested.request_id
