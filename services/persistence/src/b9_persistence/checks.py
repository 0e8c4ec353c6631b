"""Semantic checks the schema decoder cannot express. A failing fact goes to DLQ with the reason."""

from __future__ import annotations

import re
from typing import Any

from b9_common.events import (
    CreatorCategorized,
    CreatorDiscovered,
    CreatorScraped,
    PostsFetched,
    RelatedProcessed,
    SubredditCategorized,
    SubredditDiscovered,
    SubredditFetched,
    UserFetched,
)

REVIEWS = frozenset({"Ok", "No Seller", "Non Related", "User Feed", "Banned"})
SUBREDDIT = re.compile(r"[A-Za-z0-9_]{1,64}")
REDDIT_USER = re.compile(r"[A-Za-z0-9_-]{1,64}")
REDDIT_ID = re.compile(r"[A-Za-z0-9_]{1,32}")
IG_USER = re.compile(r"[A-Za-z0-9._]{1,64}")
IG_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
MEDIA_PK = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _bad(pattern: re.Pattern[str], value: str | None, what: str) -> str | None:
    if value is None or pattern.fullmatch(value):
        return None
    return f"invalid {what} {value[:80]!r}"


def check(type_: str, data: Any) -> str | None:
    """The reason ``data`` cannot be stored, or None."""
    fn = _CHECKS.get(type_)
    return fn(data) if fn else None


def _subreddit_fetched(d: SubredditFetched) -> str | None:
    if d.suggested_review is not None and d.suggested_review not in REVIEWS:
        return f"suggested_review {d.suggested_review!r} is not one of {sorted(REVIEWS)}"
    return _bad(SUBREDDIT, d.name, "subreddit name")


def _posts_fetched(d: PostsFetched) -> str | None:
    for p in d.posts:
        reason = (_bad(REDDIT_ID, p.reddit_id, "post id")
                  or _bad(SUBREDDIT, p.subreddit, "subreddit name"))
        if reason:
            return f"post {p.reddit_id[:40]!r}: {reason}"
    return None


def _user_fetched(d: UserFetched) -> str | None:
    return _bad(REDDIT_USER, d.username, "reddit username")


def _subreddit_discovered(d: SubredditDiscovered) -> str | None:
    return _bad(SUBREDDIT, d.name, "subreddit name")


def _creator_scraped(d: CreatorScraped) -> str | None:
    reason = _bad(IG_ID, d.ig_user_id, "ig_user_id") or _bad(IG_USER, d.username, "username")
    if reason:
        return reason
    for m in (*d.reels, *d.posts):
        reason = _bad(MEDIA_PK, m.media_pk, "media_pk")
        if reason:
            return reason
    return None


def _creator_discovered(d: CreatorDiscovered) -> str | None:
    return _bad(IG_USER, d.username, "username") or _bad(IG_ID, d.ig_user_id, "ig_user_id")


def _related_processed(d: RelatedProcessed) -> str | None:
    return _bad(IG_ID, d.ig_user_id, "ig_user_id")


def _confidence(value: float | None) -> str | None:
    if value is not None and not 0.0 <= value <= 1.0:
        return f"confidence {value} outside [0, 1]"
    return None


def _subreddit_categorized(d: SubredditCategorized) -> str | None:
    if any(not t.strip() for t in d.tags):
        return "empty tag"
    return _bad(SUBREDDIT, d.name, "subreddit name") or _confidence(d.confidence)


def _creator_categorized(d: CreatorCategorized) -> str | None:
    if any(not t.strip() for t in d.tags):
        return "empty tag"
    for value in d.confidence.values():
        reason = _confidence(value)
        if reason:
            return reason
    return _bad(IG_ID, d.ig_user_id, "ig_user_id")


_CHECKS: dict[str, Any] = {
    "subreddit.fetched": _subreddit_fetched,
    "posts.fetched": _posts_fetched,
    "user.fetched": _user_fetched,
    "subreddit.discovered": _subreddit_discovered,
    "creator.scraped": _creator_scraped,
    "creator.discovered": _creator_discovered,
    "creator.related_processed": _related_processed,
    "subreddit.categorized": _subreddit_categorized,
    "creator.categorized": _creator_categorized,
}
