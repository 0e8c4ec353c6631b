"""People's decisions (stream DECISIONS): what a person decided, with who and when.

Every change a person makes to the read model is one of these events; persistence applies
them with the same idempotent, newer-wins rules as facts (the envelope's ``occurred_at`` is
the decision's time, its ``id`` breaks ties), and a fact never overwrites one.

Bulk actions publish **one event per entity**, all carrying the same ``batch`` id, so each
entity's history, newer-wins and idempotency work per entity exactly as for single actions.

``before`` is the value the person saw when deciding (read by the gateway just before
publishing); history shows ``before -> after`` from it. It is informational: applying a
decision never depends on it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from b9_common.events.types import Name

Role = Literal["viewer", "reviewer", "admin"]
Channel = Literal["dashboard", "api", "cli"]
SubredditReview = Literal["Ok", "No Seller", "Non Related", "User Feed", "Banned"]
CreatorReview = Literal["ok", "non_related"]
ModelStatus = Literal["active", "inactive", "onboarding", "paused"]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ModelId = Annotated[int, msgspec.Meta(ge=1, le=2**53 - 1)]
ROLES: tuple[Role, ...] = ("viewer", "reviewer", "admin")


class Actor(msgspec.Struct, kw_only=True, frozen=True):
    """Who decided: the account, its role at the time, and where the decision came from."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    role: Role
    channel: Channel


class _Decision(msgspec.Struct, kw_only=True):
    actor: Actor
    batch: str | None = None


class SubredditReviewed(_Decision, kw_only=True):
    """``subreddit.reviewed``: a person set (or cleared, ``review=None``) a subreddit's review."""

    name: Name
    review: SubredditReview | None
    before: SubredditReview | None = None


class SubredditTagged(_Decision, kw_only=True):
    """``subreddit.tagged``: a person set a subreddit's tags by hand (manual tags block automatic ones)."""

    name: Name
    tags: list[Tag]
    primary_category: str | None = None
    taxonomy_version: str = ""
    before: list[str] | None = None


class UserMarkedOurs(_Decision, kw_only=True):
    """``user.marked_ours``: a Reddit account is (or is no longer) one of the agency's creators."""

    username: Name
    our_creator: bool
    before: bool | None = None


class AccountLinked(_Decision, kw_only=True):
    """``model.account_linked``: a Reddit account now belongs to a model (persona)."""

    username: Name
    model_id: ModelId
    before: int | None = None


class AccountUnlinked(_Decision, kw_only=True):
    """``model.account_unlinked``: a Reddit account no longer belongs to any model."""

    username: Name
    before: int | None = None


class CreatorReviewed(_Decision, kw_only=True):
    """``creator.reviewed``: a person approved (``ok``) or rejected a creator, or cleared it."""

    ig_user_id: Name
    review_status: CreatorReview | None
    before: CreatorReview | None = None


class CreatorNiched(_Decision, kw_only=True):
    """``creator.niched``: a person set (or cleared) a creator's niche."""

    ig_user_id: Name
    niche: Annotated[str, msgspec.Meta(max_length=100)] | None
    before: str | None = None


class ModelCreated(_Decision, kw_only=True):
    """``model.created``: a new model (persona); its id is chosen by the publisher and kept forever."""

    model_id: ModelId
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: str = ""
    assigned_tags: list[Tag] = msgspec.field(default_factory=list)
    status: ModelStatus = "active"


class ModelUpdated(_Decision, kw_only=True):
    """``model.updated``: the fields given (not None) change; the others stay."""

    model_id: ModelId
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    description: str | None = None
    assigned_tags: list[Tag] | None = None
    status: ModelStatus | None = None
    before: dict[str, Any] | None = None


class ModelDeleted(_Decision, kw_only=True):
    """``model.deleted``: the model is gone for good and its accounts are unlinked."""

    model_id: ModelId
    name: str | None = None
