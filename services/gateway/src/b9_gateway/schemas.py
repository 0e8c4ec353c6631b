"""Request bodies (pydantic: validation and 422s naming the field) and shared response shapes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from b9_gateway import taxonomy

MAX_BULK = 500
MAX_PER_PAGE = 200
# ``after`` of the lists paged by cursor (b9_gateway.cursor): base64url without padding
After = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=1000,
        pattern="^[A-Za-z0-9_-]+$",
        description="Cursor: the page after the row it names (the `next` of the previous page, same sort and "
        "order; filters may change). With `after`, `page` stays 1; the total is the whole list's",
    ),
]
# The largest integer a JSON number carries exactly (2**53 - 1): bounds above it are compared
# as doubles by JSON Schema validators (2**62 + 95 "equals" 2**62), so ids stay below it.
MAX_INT = 2**53 - 1

SubredditName = Annotated[
    str, StringConstraints(pattern=r"^(r/)?[A-Za-z0-9][A-Za-z0-9_]{1,20}$", strip_whitespace=True)
]
RedditUsername = Annotated[str, StringConstraints(pattern=r"^(u/)?[A-Za-z0-9_-]{3,20}$", strip_whitespace=True)]
IgUsername = Annotated[str, StringConstraints(pattern=r"^@?[A-Za-z0-9._]{1,30}$", strip_whitespace=True)]
IgKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _known_tag(tag: str) -> str:
    if tag not in taxonomy.ALL_TAGS:
        raise ValueError(f"unknown tag {tag!r}: see GET /api/v1/categorization/tags")
    return tag


# A tag of the taxonomy: the schema lists them (enum), so a client knows the valid values.
Tag = Annotated[str, AfterValidator(_known_tag), WithJsonSchema({"type": "string", "enum": sorted(taxonomy.ALL_TAGS)})]
Niche = Annotated[str, StringConstraints(min_length=1, max_length=100)]  # as sent: schema = behaviour
# Deprecated: decisions are recorded under the authenticated account; ``by`` is accepted and ignored.
Actor = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Review = Literal["Ok", "No Seller", "Non Related", "User Feed", "Banned"]
CreatorReview = Literal["ok", "non_related"]


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_INT:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


class StrictJson(BaseModel):
    """A JSON body read as its schema says: strict types (0 is not false, "5" is not 5, no
    unknown fields), and 66.0 is the integer 66 (a JSON Schema integer is any whole number)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        return _integral(data)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):  # a number would pass as a Unix time
        raise ValueError("an RFC 3339 date-time with its offset, e.g. 2026-01-31T12:00:00Z")
    return value


# A date-time as its schema (format: date-time) says: pydantic alone also takes 0.5 (a Unix
# time), a bare date or a time without offset.
DateTime = Annotated[datetime, BeforeValidator(_rfc3339)]


class Body(StrictJson):
    """A request body (strict JSON, unknown fields refused)."""


class ReviewBody(Body):
    review: Review | None = Field(description="New review; null clears it (back to unreviewed)")
    by: Actor = "api"


class BulkReviewBody(ReviewBody):
    names: list[SubredditName] = Field(min_length=1, max_length=MAX_BULK)


class TagsBody(Body):
    tags: list[Tag] = Field(max_length=10)
    by: Actor = "api"


class BulkTagsBody(Body):
    names: list[SubredditName] = Field(min_length=1, max_length=MAX_BULK)
    add: list[Tag] = Field(default_factory=list, max_length=10)
    remove: list[Tag] = Field(default_factory=list, max_length=10)
    by: Actor = "api"


class AddSubredditBody(Body):
    name: SubredditName


class Accepted(msgspec.Struct):
    accepted: bool
    event_id: str
    subject: str
    target: str
    # the request to follow (GET status_url; b9_gateway.requests): deduplicated = the same kind
    # and target was already queued or running, this is its request and nothing was published
    request_id: str | None = None
    status_url: str | None = None
    status: str | None = None
    deduplicated: bool = False


class BulkResult(msgspec.Struct):
    """A decision's answer: how many entities it changed, which were not found, the decision
    event ids, and whether persistence has stored them (``false`` with HTTP 202: not yet)."""

    updated: int
    missing: list[str]
    decisions: list[str] = []
    stored: bool = True


def clean_sub(name: str) -> str:
    return name[2:] if name.lower().startswith("r/") else name


def clean_user(name: str) -> str:
    return name[2:] if name.lower().startswith("u/") else name
