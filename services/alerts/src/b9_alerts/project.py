"""Only the fields the rules read: an event's payload projected for evaluation.

Converting a whole payload to plain data (``msgspec.to_builtins``: every field, every post of a
``posts.fetched``, datetimes to text) was a third of the evaluation's CPU, and a rule reads one
to three fields. Per target, ``projector`` builds a function that copies only the top-level fields
the active rules name plus those the target's ``items`` reads (its key, the parent fields an item
carries), converted exactly as ``to_builtins`` would; for item lists (posts, reels) each item is
projected the same way. A match is then rebuilt from the full payload (title, link, the
notification's fields), so nothing a person sees comes from the projection.

``SHAPES`` mirrors how ``b9_common.alerting.rules.TARGETS`` read an event; a target without a shape
falls back to the full conversion (``tests/alerts/test_project.py`` checks that every target has
one and that projected and full evaluation agree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from b9_common.alerting.rules import Target

Project = Callable[[Any], dict[str, Any]]
_PLAIN = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True)
class Shape:
    keys: tuple[str, ...] = ()  # top-level fields the target's items / entity key read
    lists: tuple[str, ...] = ()  # item lists: each item is an entity with its own fields
    item_keys: tuple[str, ...] = ()  # fields of an item its entity key reads


_CREATOR = ("ig_user_id", "username", "followers_count", "is_verified")
SHAPES: dict[str, Shape] = {
    "subreddit.discovered": Shape(("name",)),
    "subreddit.fetched": Shape(("name",)),
    "subreddit.categorized": Shape(("name",)),
    "subreddit.reviewed": Shape(("name",)),
    "post.fetched": Shape(("listing",), ("posts",), ("reddit_id",)),
    "user.fetched": Shape(("username",)),
    "creator.scraped": Shape(("ig_user_id",)),
    "creator.discovered": Shape(("username",)),
    "creator.media": Shape(_CREATOR, ("reels", "posts"), ("media_pk",)),
    "creator.categorized": Shape(("ig_user_id",)),
    "creator.reviewed": Shape(("ig_user_id",)),
    "scrape.attempted": Shape(("scraper", "target_kind", "target")),
    "media.failed": Shape(("source_url",)),
}


def referenced(where: Any) -> set[str]:
    """The top-level field names a ``where`` reads (``metrics.score`` reads ``metrics``)."""
    out: set[str] = set()
    if isinstance(where, dict):
        for key, cond in where.items():
            if key == "any" and isinstance(cond, list):
                for c in cond:
                    out |= referenced(c)
            elif key == "not":
                out |= referenced(cond)
            else:
                out.add(str(key).split(".")[0])
    return out


def plain(v: Any) -> Any:
    return v if v.__class__ in _PLAIN else msgspec.to_builtins(v)


def _pick(names: tuple[str, ...]) -> Project:
    def pick(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in names:
            v = getattr(obj, k, None)
            out[k] = v if v.__class__ in _PLAIN else msgspec.to_builtins(v)
        return out
    return pick


def projector(target: Target, wheres: Iterable[Any]) -> Project:
    """What evaluation reads of a payload of ``target.source`` for rules with these filters."""
    shape = SHAPES.get(target.name)
    if shape is None:
        return msgspec.to_builtins
    want: set[str] = set()
    for w in wheres:
        want |= referenced(w)
    if not shape.lists:
        return _pick(tuple(sorted(want | set(shape.keys))))
    top = _pick(shape.keys)
    item = _pick(tuple(sorted(want | set(shape.item_keys))))  # parent fields an item carries: overwritten
    lists = shape.lists

    def project(obj: Any) -> dict[str, Any]:
        out = top(obj)
        for name in lists:
            out[name] = [item(m) for m in getattr(obj, name, None) or ()]
        return out
    return project
