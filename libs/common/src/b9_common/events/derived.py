"""Results of processing facts (stream DERIVED)."""

from __future__ import annotations

from typing import Literal

import msgspec

from b9_common.events.types import Name, NonNegFloat, NonNegInt, Url

Method = Literal["rules", "openai"]


class SubredditCategorized(msgspec.Struct, kw_only=True):
    """``subreddit.categorized``: tags for one subreddit."""

    name: Name
    tags: list[str]
    primary_category: str | None = None
    confidence: float | None = None
    taxonomy_version: str
    model: str
    method: Method
    prompt_version: str = ""
    content_hash: str = ""
    tokens_in: NonNegInt = 0
    tokens_out: NonNegInt = 0
    cost_usd: NonNegFloat = 0.0


class CreatorCategorized(msgspec.Struct, kw_only=True):
    """``creator.categorized``: visual tags for one creator, with per-category confidence."""

    ig_user_id: Name
    username: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    confidence: dict[str, float] = msgspec.field(default_factory=dict)
    taxonomy_version: str
    model: str
    method: Method
    prompt_version: str = ""
    content_hash: str = ""
    tokens_in: NonNegInt = 0
    tokens_out: NonNegInt = 0
    cost_usd: NonNegFloat = 0.0


MediaAssetKind = Literal["photo", "video", "profile_picture", "thumbnail", "poster"]


class MediaStored(msgspec.Struct, kw_only=True):
    """``media.stored``: an asset is in object storage, compressed."""

    source_url: Url
    source_id: Name
    owner: str | None = None
    kind: MediaAssetKind
    content_hash: str
    storage_key: str
    content_type: str
    bytes_in: NonNegInt
    bytes_out: NonNegInt
    width: NonNegInt | None = None
    height: NonNegInt | None = None
    duration: NonNegFloat | None = None
    poster_key: str | None = None
    deduplicated: bool = False


MediaFailure = Literal[
    "blocked_scheme",
    "blocked_host",
    "blocked_address",
    "too_large",
    "too_many_pixels",
    "corrupt",
    "unsupported",
    "timeout",
    "http_error",
    "storage_error",
]


class MediaFailed(msgspec.Struct, kw_only=True):
    """``media.failed``: the asset could not be stored, and why."""

    source_url: Url
    source_id: Name
    owner: str | None = None
    kind: MediaAssetKind
    reason: MediaFailure
    detail: str = ""
