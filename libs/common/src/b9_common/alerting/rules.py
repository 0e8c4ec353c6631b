"""What an alert rule can watch (``TARGETS``) and its filter language (``compile_where``).

Shared by the gateway (validates a rule at creation: 422 with the reason) and the alerts service
(evaluates it). A filter is JSON data compiled into Python closures: no eval, bounded size.

The ``where`` language::

    {"subscribers": {"gte": 10000}, "tags": {"contains": "niche:cosplay"}}    all hold
    {"name": {"in": ["pics", "aww"]}}                                           one of a list
    {"any": [{"score": {"gte": 5000}}, {"num_comments": {"gte": 500}}]}         either holds
    {"not": {"over_18": true}}                                                  does not hold
    {"metrics.subreddit_score": {"gt": 50}}                                     a nested field

A bare value means ``eq`` (for a list field: the list contains it). Operators: ``eq``, ``ne``,
``gt``, ``gte``, ``lt``, ``lte`` (numbers, strings, ISO times), ``in`` / ``not_in`` (a list of at
most 1000 values; strings compare case-insensitively), ``contains`` (a list field holds the value, or
a text field holds the substring, case-insensitive), ``exists`` (true / false). A field the event
lacks (or null) satisfies nothing but ``ne``, ``not_in`` and ``exists: false``. Fields are the
event's payload fields (``TARGETS[on].fields``; nested with dots).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from b9_common.events.catalogue import EVENTS
from b9_common.events.instagram import IgMedia
from b9_common.events.reddit import RedditPost

Fields = dict[str, Any]
Predicate = Callable[[Fields], bool]
MAX_NODES = 200
MAX_LIST = 1000
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists")


class WhereError(ValueError):
    """A filter that cannot be compiled; the message says where and why."""


@dataclass(frozen=True)
class Target:
    """An alertable thing: items of an event type, each an entity with fields."""

    name: str
    source: str  # event type it comes from
    summary: str
    items: Callable[[Fields], Iterator[tuple[str, Fields]]]  # (entity key, fields) per item
    title: Callable[[str, Fields], str]
    link: Callable[[str, Fields], str]
    fields: frozenset[str]


def _struct_fields(t: Any) -> frozenset[str]:
    return frozenset(f.name for f in msgspec.structs.fields(t))


def _one(key: str) -> Callable[[Fields], Iterator[tuple[str, Fields]]]:
    def items(d: Fields) -> Iterator[tuple[str, Fields]]:
        yield str(d.get(key) or "").lower(), d
    return items


def _posts(d: Fields) -> Iterator[tuple[str, Fields]]:
    for p in d.get("posts") or ():
        yield str(p["reddit_id"]), {**p, "listing": d.get("listing")}


def _media(d: Fields) -> Iterator[tuple[str, Fields]]:
    creator = {k: d.get(k) for k in ("ig_user_id", "username", "followers_count", "is_verified")}
    for m in (*(d.get("reels") or ()), *(d.get("posts") or ())):
        yield str(m["media_pk"]), {**m, "creator": creator}


def _attempt(d: Fields) -> Iterator[tuple[str, Fields]]:
    yield f"{d.get('scraper')}:{d.get('target_kind')}:{str(d.get('target')).lower()}", d


def _sub_link(e: str, d: Fields) -> str:
    return f"/#/reddit/subreddits/{d.get('name') or d.get('subreddit') or e}"


def _creator_link(e: str, d: Fields) -> str:
    uid = d.get("ig_user_id") or (d.get("creator") or {}).get("ig_user_id")
    return f"/#/instagram/creators/{uid}" if uid else "/#/instagram/review"


def _t(name: str, source: str, summary: str, items: Callable[[Fields], Iterator[tuple[str, Fields]]],
       title: Callable[[str, Fields], str], link: Callable[[str, Fields], str], item: Any = None,
       more: frozenset[str] = frozenset()) -> Target:
    fields = _struct_fields(item if item is not None else EVENTS[source].payload) | more
    return Target(name, source, summary, items, title, link, fields)


_SUB = (_one("name"), lambda e, d: f"r/{d.get('name')}", _sub_link)
_CREATOR = (_one("ig_user_id"), lambda e, d: f"@{d.get('username')}", _creator_link)
_USER = (_one("username"), lambda e, d: f"u/{d.get('username')}", lambda e, d: f"/#/reddit/users/{d.get('username')}")

_LIST = [
    _t("subreddit.discovered", "subreddit.discovered", "A subreddit seen for the first time", *_SUB),
    _t("subreddit.fetched", "subreddit.fetched", "A subreddit's about and metrics (subscribers, score...)", *_SUB),
    _t("subreddit.categorized", "subreddit.categorized", "Tags computed for a subreddit", *_SUB),
    _t("subreddit.reviewed", "subreddit.reviewed", "A person reviewed a subreddit", *_SUB),
    _t("post.fetched", "posts.fetched", "One Reddit post (score, comments...): e.g. a post gone viral", _posts,
       lambda e, d: f"post in r/{d.get('subreddit')}: {str(d.get('title'))[:80]}",
       lambda e, d: f"/#/reddit/subreddits/{d.get('subreddit')}",
       item=RedditPost, more=frozenset({"listing"})),
    _t("user.fetched", "user.fetched", "A Reddit user's profile and karma", *_USER),
    _t("creator.scraped", "creator.scraped", "A creator's profile and analytics (followers, growth...)", *_CREATOR),
    _t("creator.discovered", "creator.discovered", "A related creator not known before", _one("username"),
       lambda e, d: f"@{d.get('username')} discovered", _creator_link),
    _t("creator.media", "creator.scraped", "One reel or post of a creator: e.g. viral content (is_viral)", _media,
       lambda e, d: f"@{(d.get('creator') or {}).get('username')} {d.get('post_type')} {e}", _creator_link,
       item=IgMedia, more=frozenset({"creator"})),
    _t("creator.categorized", "creator.categorized", "Visual tags computed for a creator", *_CREATOR),
    _t("creator.reviewed", "creator.reviewed", "A person approved or rejected a creator", _one("ig_user_id"),
       lambda e, d: f"creator {d.get('ig_user_id')} {d.get('review_status')}", _creator_link),
    _t("scrape.attempted", "scrape.attempted", "A scrape attempt and its outcome (scraper health)", _attempt,
       lambda e, d: f"{d.get('scraper')} {d.get('target')}: {d.get('outcome')}", lambda e, d: "/#/"),
    _t("media.failed", "media.failed", "An asset that could not be stored", _one("source_url"),
       lambda e, d: f"media failed: {d.get('reason')}", lambda e, d: "/#/"),
]
# Insights (b9_common.alerting.insights), computed by the alerts service every ALERTS_INSIGHTS_INTERVAL seconds
# from the read model: their "source" is not an event type.
INSIGHTS = {"subreddit.rising": "insight.subreddit_rising", "creator.flagged": "insight.creator_flagged"}
_LIST += [
    Target("subreddit.rising", INSIGHTS["subreddit.rising"],
           "A subreddit growing over its last 7 days of snapshots (growth_pct 0.25 = +25 %)", _one("subreddit"),
           lambda e, d: f"r/{d.get('subreddit')} +{(d.get('growth_pct') or 0) * 100:.0f} % in 7 days",
           lambda e, d: f"/#/reddit/subreddits/{d.get('subreddit')}",
           frozenset({"subreddit", "start_subscribers", "end_subscribers", "growth", "growth_pct",
                      "start_active", "end_active", "active_growth_pct", "points"})),
    Target("creator.flagged", INSIGHTS["creator.flagged"],
           "A creator with authenticity signals (score 0-100; signals: follower_jump, engagement_low, "
           "engagement_high, views_outlier, stall_after_spike)", _one("ig_user_id"),
           lambda e, d: f"@{d.get('username')} flagged: {', '.join(d.get('signals') or [])} (score {d.get('score')})",
           _creator_link,
           frozenset({"ig_user_id", "username", "followers_count", "engagement_rate", "score", "signals"})),
]
TARGETS: dict[str, Target] = {t.name: t for t in _LIST}


def targets_by_source() -> dict[str, list[Target]]:
    out: dict[str, list[Target]] = {}
    for t in _LIST:
        out.setdefault(t.source, []).append(t)
    return out


# -- the filter language --------------------------------------------------------------------------
def _get(path: tuple[str, ...]) -> Callable[[Fields], Any]:
    if len(path) == 1:
        key = path[0]
        return lambda d: d.get(key)

    def get(d: Fields) -> Any:
        v: Any = d
        for p in path:
            if not isinstance(v, dict):
                return None
            v = v.get(p)
        return v
    return get


def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _cmp(op: str, want: Any) -> Callable[[Any], bool]:
    if op == "eq":
        w = _norm(want)
        return lambda v: (w in [_norm(x) for x in v]) if isinstance(v, list) else _norm(v) == w
    if op == "ne":
        w = _norm(want)
        return lambda v: not ((w in [_norm(x) for x in v]) if isinstance(v, list) else _norm(v) == w)
    if op in ("gt", "gte", "lt", "lte"):
        if not isinstance(want, int | float | str) or isinstance(want, bool):
            raise WhereError(f"{op} needs a number or a string")
        fn = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
              "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}[op]

        def order(v: Any) -> bool:
            try:
                return v is not None and not isinstance(v, bool) and bool(fn(v, want))
            except TypeError:
                return False
        return order
    if op in ("in", "not_in"):
        if not isinstance(want, list) or len(want) > MAX_LIST:
            raise WhereError(f"{op} needs a list of at most {MAX_LIST} values")
        s = frozenset(_norm(x) for x in want if not isinstance(x, dict | list))
        if op == "in":
            return lambda v: bool(s & set(map(_norm, v))) if isinstance(v, list) else v is not None and _norm(v) in s
        return lambda v: (_norm(v) not in s) if not isinstance(v, list) else not (s & set(map(_norm, v)))
    if op == "contains":
        w = _norm(want)
        return lambda v: (w in [_norm(x) for x in v]) if isinstance(v, list) else (
            isinstance(v, str) and isinstance(w, str) and w in v.lower())
    if op == "exists":
        if not isinstance(want, bool):
            raise WhereError("exists needs true or false")
        return lambda v: (v is not None) == want
    raise WhereError(f"unknown operator {op!r} (one of {', '.join(OPS)})")


_NUM = (int, float)


def _fast(key: str, op: str, want: Any) -> Predicate | None:
    """The same test as ``_cmp`` in one closure for the common cases (a top-level field; numbers,
    or strings against strings), None for the rest: evaluation is most of the alerts service's CPU."""
    if op in ("gt", "gte", "lt", "lte") and want.__class__ in _NUM:
        if op == "gte":
            return lambda d: (v := d.get(key)).__class__ in _NUM and v >= want
        if op == "gt":
            return lambda d: (v := d.get(key)).__class__ in _NUM and v > want
        if op == "lte":
            return lambda d: (v := d.get(key)).__class__ in _NUM and v <= want
        return lambda d: (v := d.get(key)).__class__ in _NUM and v < want
    if op == "eq" and want.__class__ is str:
        w = want.lower()
        return lambda d: v.lower() == w if (v := d.get(key)).__class__ is str else (
            v.__class__ is list and w in [_norm(x) for x in v])
    if op == "eq" and want.__class__ is bool:
        return lambda d: (v := d.get(key)) is want or (v.__class__ is list and want in v)
    if op == "contains" and want.__class__ is str:
        w = want.lower()
        return lambda d: w in v.lower() if (v := d.get(key)).__class__ is str else (
            v.__class__ is list and w in [_norm(x) for x in v])
    if op == "in" and all(x.__class__ is str for x in want):
        s = frozenset(x.lower() for x in want)
        return lambda d: v.lower() in s if (v := d.get(key)).__class__ is str else (
            v.__class__ is list and bool(s & set(map(_norm, v))))
    return None


def _any(alts: list[Predicate]) -> Predicate:
    if len(alts) == 1:
        return alts[0]
    if len(alts) == 2:
        a, b = alts
        return lambda d: a(d) or b(d)
    return lambda d: any(p(d) for p in alts)


def _all(parts: list[Predicate]) -> Predicate:
    if not parts:
        return lambda d: True
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda d: a(d) and b(d)
    return lambda d: all(p(d) for p in parts)


def anchor(where: Any) -> tuple[str, str, Any] | None:
    """A condition every match must meet that an index can look up: ``("eq", field, values)`` for a
    top-level string equality / ``in``, ``("ge", field, threshold)`` for a numeric ``gte`` / ``gt``."""
    if not isinstance(where, dict):
        return None
    best: tuple[str, str, Any] | None = None
    for key, cond in where.items():
        if key in ("any", "not") or "." in key:
            continue
        ops = cond if isinstance(cond, dict) else {"eq": cond}
        if isinstance(ops.get("in"), list) and all(isinstance(x, str) for x in ops["in"]):
            return ("eq", key, frozenset(x.lower() for x in ops["in"]))
        if isinstance(ops.get("eq"), str):
            return ("eq", key, frozenset([ops["eq"].lower()]))
        for op in ("gte", "gt"):
            if ops.get(op).__class__ in _NUM and best is None:
                best = ("ge", key, ops[op])
    return best


def compile_where(where: Any, fields: frozenset[str] | None = None) -> Predicate:
    """The predicate of a ``where`` object; ``WhereError`` names what is wrong."""
    count = [0]

    def node(w: Any, at: str, depth: int) -> Predicate:
        if not isinstance(w, dict):
            raise WhereError(f"{at or 'where'} must be an object")
        if depth > 5:
            raise WhereError("filters nest at most 5 deep")
        parts: list[Predicate] = []
        for key, cond in w.items():
            count[0] += 1
            if count[0] > MAX_NODES:
                raise WhereError(f"a filter has at most {MAX_NODES} conditions")
            here = f"{at}.{key}" if at else key
            if key == "any":
                if not isinstance(cond, list) or not cond:
                    raise WhereError(f"{here} must be a non-empty list of filters")
                parts.append(_any([node(c, here, depth + 1) for c in cond]))
            elif key == "not":
                inner = node(cond, here, depth + 1)
                parts.append(lambda d, inner=inner: not inner(d))  # type: ignore[misc]
            else:
                path = tuple(key.split("."))
                if fields is not None and path[0] not in fields:
                    raise WhereError(f"unknown field {path[0]!r} (fields: {', '.join(sorted(fields))})")
                get = _get(path)
                ops = cond if isinstance(cond, dict) else {"eq": cond}
                if not ops:
                    raise WhereError(f"{here} has no operator")
                for op, want in ops.items():
                    try:
                        test = _cmp(op, want)
                    except WhereError as exc:
                        raise WhereError(f"{here}: {exc}") from None
                    fast = _fast(path[0], op, want) if len(path) == 1 else None
                    parts.append(fast or (lambda d, get=get, test=test: test(get(d))))  # type: ignore[misc]
        return _all(parts)

    return node({} if where is None else where, "", 0)


__all__ = ["INSIGHTS", "OPS", "TARGETS", "Target", "WhereError", "anchor", "compile_where", "targets_by_source"]
