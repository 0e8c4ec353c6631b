"""Alerts: rules people make (stream DECISIONS) and what the alerts service derives (DERIVED).

A rule is a decision like any other (who made it, when, through which channel); persistence keeps
the rules in ``alert_rules`` and every change in ``decision_log`` (entity_type ``alert_rule``).

``where`` is the rule's filter in the small JSON language documented in the alerts service's
README (``services/alerts``) and in the OpenAPI schema: ``{"field": value}`` for equality,
``{"field": {"gte": 10}}`` for an operator, several keys all holding, ``{"any": [...]}`` for
either; it is data, never code.

Read marks are decisions too (``notifications.read``: per account, kept in ``notification_reads``).
Notifications carry a deterministic id (``hash(rule, entity, occurrence)``) as their envelope id, so
redeliveries dedupe on ``Nats-Msg-Id`` and on persistence's primary key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from b9_common.events.decisions import _Decision
from b9_common.events.types import Name, NonNegInt

RuleId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Repeat = Literal["once", "every"]
Cap = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Window = Annotated[int, msgspec.Meta(ge=1, le=86_400)]


class AlertRuleCreated(_Decision, kw_only=True):
    """``alert_rule.created``: a person made a rule (its id is chosen by the publisher)."""

    rule_id: RuleId
    name: RuleName
    on: Name
    where: dict[str, Any] = msgspec.field(default_factory=dict)
    webhook: str | None = None
    slack: bool = False
    repeat: Repeat = "once"
    cap: Cap = 20
    window_seconds: Window = 60
    paused: bool = False


class AlertRuleUpdated(_Decision, kw_only=True):
    """``alert_rule.updated``: the fields given change (``webhook: ""`` removes the webhook)."""

    rule_id: RuleId
    name: RuleName | None = None
    on: Name | None = None
    where: dict[str, Any] | None = None
    webhook: str | None = None
    slack: bool | None = None
    repeat: Repeat | None = None
    cap: Cap | None = None
    window_seconds: Window | None = None
    paused: bool | None = None
    before: dict[str, Any] | None = None


class AlertRuleDeleted(_Decision, kw_only=True):
    """``alert_rule.deleted``: the rule is gone for good (a late update of it changes nothing)."""

    rule_id: RuleId
    name: str | None = None


class NotificationsRead(_Decision, kw_only=True):
    """``notifications.read``: a person (``actor.id``, an account) read the notifications up to the
    one created at ``up_to`` (id ``up_to_id`` breaks ties): on every browser they are read. The mark
    only moves forward (persistence keeps the later of two), so an older tab cannot unread them."""

    up_to: datetime
    up_to_id: Annotated[str, msgspec.Meta(max_length=64)] = ""


class NotificationCreated(msgspec.Struct, kw_only=True):
    """``notification.created``: a rule matched (or a digest of the matches over its cap)."""

    rule_id: RuleId
    rule_name: str
    on: str
    entity: str
    occurrence: str
    title: str
    link: str = ""
    event_id: str = ""
    event_type: str = ""
    event_at: datetime | None = None
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    digest: bool = False
    count: NonNegInt = 1
    entities: list[str] = msgspec.field(default_factory=list)
    replayed: bool = False


class WebhookDelivered(msgspec.Struct, kw_only=True):
    """``webhook.delivered``: the receiver answered 2xx for a notification."""

    delivery_id: str
    rule_id: RuleId
    notification_id: str
    url_host: str
    attempts: NonNegInt
    status: int
    duration_ms: NonNegInt = 0


class WebhookFailed(msgspec.Struct, kw_only=True):
    """``webhook.failed``: given up after the retry time (or refused outright), and why."""

    delivery_id: str
    rule_id: RuleId
    notification_id: str
    url_host: str
    attempts: NonNegInt
    status: int | None = None
    reason: str
    duration_ms: NonNegInt = 0
