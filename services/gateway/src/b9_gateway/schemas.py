"""Request bodies (pydantic: validation and 422s naming the field) and shared response shapes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_BULK = 500
MAX_PER_PAGE = 200

SubredditName = Annotated[
    str, StringConstraints(pattern=r"^(r/)?[A-Za-z0-9][A-Za-z0-9_]{1,20}$", strip_whitespace=True)
]
RedditUsername = Annotated[str, StringConstraints(pattern=r"^(u/)?[A-Za-z0-9_-]{3,20}$", strip_whitespace=True)]
IgUsername = Annotated[str, StringConstraints(pattern=r"^@?[A-Za-z0-9._]{1,30}$", strip_whitespace=True)]
IgKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z_]+:[a-z_]+$", max_length=60)]
Niche = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
# Deprecated: decisions are recorded under the authenticated account; ``by`` is accepted and ignored.
Actor = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Review = Literal["Ok", "No Seller", "Non Related", "User Feed", "Banned"]
CreatorReview = Literal["ok", "non_related"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
