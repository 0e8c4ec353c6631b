"""On-demand work (stream COMMANDS, work-queue). Published by the gateway and the CLI."""

from __future__ import annotations

from datetime import datetime
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


class ReplayRequested(msgspec.Struct, kw_only=True):
    """``replay.requested.<service>``: re-run one of the service's consumers over a stream slice.

    A replica of the service that owns the consumer claims it and runs it in its own process
    through the same handlers as live traffic (``b9_common.replay.owner``), reporting in KV
    bucket ``replays`` under ``replay_id`` (also the event id). One replay id runs once."""

    replay_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    # One of the service's consumers; None: its first one not on a work queue.
    consumer: str | None = None
    stream: str | None = None  # SCRAPE, DERIVED, ... (None: the consumer's)
    subjects: list[str] = msgspec.field(default_factory=list)  # event types (None: all the consumer's)
    from_seq: Annotated[int, msgspec.Meta(ge=1)] | None = None
    to_seq: Annotated[int, msgspec.Meta(ge=1)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    rate: Annotated[float, msgspec.Meta(gt=0)] | None = None  # at most N events/s
    dry_run: bool = False  # plan and count only
    requested_by: str = "api"


class PersistenceReplayRequested(ReplayRequested, kw_only=True):
    """``replay.requested.persistence``: run by a persistence replica."""


class CategorizerReplayRequested(ReplayRequested, kw_only=True):
    """``replay.requested.categorizer``: run by a categorizer replica."""


class MediaReplayRequested(ReplayRequested, kw_only=True):
    """``replay.requested.media``: run by a media replica."""


class AlertsReplayRequested(ReplayRequested, kw_only=True):
    """``replay.requested.alerts``: run by an alerts replica."""


# The services whose consumers can be replayed, and the command each one takes.
REPLAY_COMMANDS: dict[str, type[ReplayRequested]] = {
    "persistence": PersistenceReplayRequested,
    "categorizer": CategorizerReplayRequested,
    "media": MediaReplayRequested,
    "alerts": AlertsReplayRequested,
}
