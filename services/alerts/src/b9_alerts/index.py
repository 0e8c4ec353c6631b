"""The rules on one target, indexed so that an item is checked only against the rules it can match.

Every rule gets *anchors*: conditions at least one of which each of its matches meets, each of a
kind an index looks up without running the rule:

- ``eq``: a top-level string equality or ``in`` list (``b9_common.alerting.rules.anchor``) -> hash
  lookup of the item's value (each element of a list value);
- ``ge``: a numeric ``gte`` / ``gt`` -> bisect over the thresholds;
- ``sub``: a top-level ``contains`` of a string -> for a text value, one regular-expression search
  for all the substrings of the field at once (a miss, the common case, rules them all out), then
  ``in`` per substring; for a list value, a hash lookup of its elements (``contains`` on a list is
  element equality);
- an ``any`` whose alternatives all have anchors: the union of theirs (a rule is then a candidate
  when any alternative's anchor is met).

A rule without anchors is a candidate for every item. The full filter always decides: the index
only leaves out rules that cannot match (``tests/alerts/test_where.py`` checks that it loses none).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from b9_common.alerting.rules import anchor

if TYPE_CHECKING:
    from b9_alerts.rules import Rule

Anchor = tuple[str, str, Any]  # ("eq", field, frozenset of values) | ("ge", field, threshold) | ("sub", field, text)
_NUM = (int, float)


def anchors(where: Any) -> list[Anchor] | None:
    """Conditions one of which every match of ``where`` meets; None when there are none."""
    if not isinstance(where, dict):
        return None
    found = anchor(where)
    if found is not None:
        return [found]
    for key, cond in where.items():
        if key in ("any", "not") or "." in key:
            continue
        ops = cond if isinstance(cond, dict) else {"eq": cond}
        if isinstance(ops.get("contains"), str):
            return [("sub", key, ops["contains"].lower())]
    alts = where.get("any")
    if not isinstance(alts, list) or not alts:
        return None
    out: list[Anchor] = []
    for alt in alts:
        got = anchors(alt)
        if got is None:
            return None
        out += got
    return out


class _Texts:
    """The ``sub`` anchors of one field: substring -> rules, and one pattern finding any of them."""

    def __init__(self, subs: dict[str, list[Rule]]) -> None:
        self.subs = list(subs.items())
        self.exact = subs
        self.search: Callable[[str], Any] = re.compile("|".join(re.escape(s) for s in subs)).search

    def in_text(self, v: str) -> list[Rule]:
        low = v.lower()
        if self.search(low) is None:
            return []
        return [r for s, rs in self.subs if s in low for r in rs]

    def in_list(self, v: list[Any]) -> list[Rule]:
        return [r for x in v if isinstance(x, str) for r in self.exact.get(x.lower(), ())]


class Matcher:
    """The active rules on one target and their index; ``project`` gives what the rules read of a
    payload (``b9_alerts.project``)."""

    def __init__(self, rules: list[Rule], project: Callable[[Any], dict[str, Any]] = msgspec.to_builtins) -> None:
        self.project = project
        self.always: list[Rule] = []
        eq: dict[str, dict[str, list[Rule]]] = {}
        ge: dict[str, list[tuple[float, int, Rule]]] = {}
        subs: dict[str, dict[str, list[Rule]]] = {}
        self.dedupe = False  # a rule with several anchors can be offered twice
        for rule in rules:
            found = anchors(rule.where)
            if found is None:
                self.always.append(rule)
                continue
            self.dedupe |= len(found) > 1
            for kind, key, value in found:
                if kind == "eq":
                    by_value = eq.setdefault(key, {})
                    for v in value:
                        by_value.setdefault(v, []).append(rule)
                elif kind == "ge":
                    xs = ge.setdefault(key, [])
                    xs.append((value, len(xs), rule))  # the position keeps rules out of the sort
                else:
                    subs.setdefault(key, {}).setdefault(value, []).append(rule)
        # one lookup per indexed field, each giving the rules its value meets (each once)
        self.lookups: list[Callable[[dict[str, Any]], Sequence[Rule]]] = [
            *(_eq(key, by_value) for key, by_value in eq.items()),
            *(_ge(key, [t for t, _, _ in sorted(xs)], [r for _, _, r in sorted(xs)]) for key, xs in ge.items()),
            *(_texts(key, _Texts(by_text)) for key, by_text in subs.items())]
        if not self.always and len(self.lookups) == 1 and not self.dedupe:
            self.candidates = self.lookups[0]  # type: ignore[method-assign, assignment]  # the common case

    def candidates(self, f: dict[str, Any]) -> Sequence[Rule]:
        out = list(self.always)
        for look in self.lookups:
            out += look(f)
        return _unique(out) if self.dedupe and len(out) > 1 else out


def _eq(key: str, by_value: dict[str, list[Rule]]) -> Callable[[dict[str, Any]], Sequence[Rule]]:
    def look(f: dict[str, Any]) -> Sequence[Rule]:
        v = f.get(key)
        if v.__class__ is str:
            return by_value.get(v.lower(), ())
        if v.__class__ is list:
            return _unique([r for x in v if isinstance(x, str) for r in by_value.get(x.lower(), ())])
        return ()
    return look


def _ge(key: str, thresholds: list[float], rules: list[Rule]) -> Callable[[dict[str, Any]], Sequence[Rule]]:
    def look(f: dict[str, Any]) -> Sequence[Rule]:
        v = f.get(key)
        return rules[:bisect_right(thresholds, v)] if v.__class__ in _NUM else ()
    return look


def _texts(key: str, texts: _Texts) -> Callable[[dict[str, Any]], Sequence[Rule]]:
    def look(f: dict[str, Any]) -> Sequence[Rule]:
        v = f.get(key)
        if v.__class__ is str:
            return texts.in_text(v)
        if v.__class__ is list:
            return _unique(texts.in_list(v))
        return ()
    return look


def _unique(rules: list[Rule]) -> list[Rule]:
    return list({id(r): r for r in rules}.values())
