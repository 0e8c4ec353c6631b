"""The event catalogue: every subject, its stream and its payload type, once.

``EVENTS[type]`` is the single source of the subject <-> payload mapping. Subjects on
the wire are ``type`` itself, prefixed by the namespace when one is set (see topology).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from b9_common.events import alerts, commands, decisions, derived, instagram, ops, reddit
from b9_common.events.envelope import EnvelopeDecoder


@dataclass(frozen=True)
class EventSpec:
    type: str
    stream: str
    payload: builtins.type[Any]
    version: int
    summary: str


_SPECS = [
    EventSpec("subreddit.fetched", "SCRAPE", reddit.SubredditFetched, 1, "A subreddit's about, rules and metrics"),
    EventSpec("posts.fetched", "SCRAPE", reddit.PostsFetched, 1, "A batch of Reddit posts"),
    EventSpec("user.fetched", "SCRAPE", reddit.UserFetched, 1, "A Reddit user's profile and activity"),
    EventSpec("subreddit.discovered", "SCRAPE", reddit.SubredditDiscovered, 1, "A new subreddit name"),
    EventSpec("creator.scraped", "SCRAPE", instagram.CreatorScraped, 1, "A creator's profile, analytics and media"),
    EventSpec("creator.discovered", "SCRAPE", instagram.CreatorDiscovered, 1, "A related creator not known before"),
    EventSpec(
        "creator.related_processed", "SCRAPE", instagram.RelatedProcessed, 1,
        "Related-creator discovery ran for a creator",
    ),
    EventSpec("scrape.attempted", "SCRAPE", ops.ScrapeAttempted, 1, "Outcome, calls and cost of a scrape attempt"),
    EventSpec("subreddit.categorized", "DERIVED", derived.SubredditCategorized, 1, "Tags for a subreddit"),
    EventSpec("creator.categorized", "DERIVED", derived.CreatorCategorized, 1, "Visual tags for a creator"),
    EventSpec("media.stored", "DERIVED", derived.MediaStored, 1, "An asset stored in object storage"),
    EventSpec("media.failed", "DERIVED", derived.MediaFailed, 1, "An asset that could not be stored"),
    EventSpec(
        "scrape.requested.reddit", "COMMANDS", commands.RedditScrapeRequested, 1,
        "Analyze a subreddit or discover a user now",
    ),
    EventSpec(
        "scrape.requested.instagram", "COMMANDS", commands.InstagramScrapeRequested, 1,
        "Add a creator or run related-creator discovery now",
    ),
    EventSpec("categorize.requested", "COMMANDS", commands.CategorizeRequested, 1, "Categorize these items now"),
    EventSpec("media.requested", "COMMANDS", commands.MediaRequested, 1, "Store these media URLs"),
    *(EventSpec(f"replay.requested.{svc}", "COMMANDS", cmd, 1,
                f"Replay one of {svc}'s consumers over a stream slice (a {svc} replica runs it)")
      for svc, cmd in commands.REPLAY_COMMANDS.items()),
    EventSpec("subreddit.reviewed", "DECISIONS", decisions.SubredditReviewed, 1, "A person reviewed a subreddit"),
    EventSpec("subreddit.tagged", "DECISIONS", decisions.SubredditTagged, 1, "A person set a subreddit's tags"),
    EventSpec("user.marked_ours", "DECISIONS", decisions.UserMarkedOurs, 1, "A person marked a Reddit account ours"),
    EventSpec(
        "model.account_linked", "DECISIONS", decisions.AccountLinked, 1, "A person linked a Reddit account to a model"
    ),
    EventSpec(
        "model.account_unlinked", "DECISIONS", decisions.AccountUnlinked, 1,
        "A person unlinked a Reddit account from its model",
    ),
    EventSpec("creator.reviewed", "DECISIONS", decisions.CreatorReviewed, 1, "A person approved or rejected a creator"),
    EventSpec("creator.niched", "DECISIONS", decisions.CreatorNiched, 1, "A person set a creator's niche"),
    EventSpec("model.created", "DECISIONS", decisions.ModelCreated, 1, "A person created a model (persona)"),
    EventSpec("model.updated", "DECISIONS", decisions.ModelUpdated, 1, "A person changed a model"),
    EventSpec("model.deleted", "DECISIONS", decisions.ModelDeleted, 1, "A person deleted a model"),
    EventSpec("alert_rule.created", "DECISIONS", alerts.AlertRuleCreated, 1, "A person made an alert rule"),
    EventSpec("alert_rule.updated", "DECISIONS", alerts.AlertRuleUpdated, 1, "A person changed an alert rule"),
    EventSpec("alert_rule.deleted", "DECISIONS", alerts.AlertRuleDeleted, 1, "A person deleted an alert rule"),
    EventSpec("notifications.read", "DECISIONS", alerts.NotificationsRead, 1,
              "A person read their notifications up to one (on every browser)"),
    EventSpec("notification.created", "DERIVED", alerts.NotificationCreated, 1, "An alert rule matched"),
    EventSpec("webhook.delivered", "DERIVED", alerts.WebhookDelivered, 1, "A rule's webhook was delivered"),
    EventSpec("webhook.failed", "DERIVED", alerts.WebhookFailed, 1, "A rule's webhook failed, with the reason"),
]

EVENTS: dict[str, EventSpec] = {spec.type: spec for spec in _SPECS}
PAYLOAD_TYPES: dict[type[Any], EventSpec] = {spec.payload: spec for spec in _SPECS}

_decoders: dict[str, EnvelopeDecoder[Any]] = {}


def spec_for(type_: str) -> EventSpec:
    try:
        return EVENTS[type_]
    except KeyError:
        raise KeyError(f"unknown event type {type_!r}") from None


def spec_of(payload: Any) -> EventSpec:
    try:
        return PAYLOAD_TYPES[type(payload)]
    except KeyError:
        raise TypeError(f"{type(payload).__name__} is not an event payload in the catalogue") from None


def decoder_for(type_: str) -> EnvelopeDecoder[Any]:
    dec = _decoders.get(type_)
    if dec is None:
        dec = _decoders[type_] = EnvelopeDecoder(spec_for(type_).payload)
    return dec


def stream_subjects(stream: str) -> list[str]:
    return [s.type for s in _SPECS if s.stream == stream]
