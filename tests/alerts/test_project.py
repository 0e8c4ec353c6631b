"""The projection evaluation reads (b9_alerts.project) agrees with the whole payload for every target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from b9_alerts.project import SHAPES, projector, referenced
from b9_common.alerting.rules import INSIGHTS, TARGETS
from b9_common.events.catalogue import EVENTS

EVENT_TARGETS = [t for t in TARGETS.values() if t.source not in INSIGHTS.values()]


def _value(t: msgspec.inspect.Type, n: int) -> Any:
    """A valid value of type ``t`` (the n-th: lists get two distinct items)."""
    i = msgspec.inspect
    if isinstance(t, i.UnionType):
        return _value(next(x for x in t.types if not isinstance(x, i.NoneType)), n)
    if isinstance(t, i.LiteralType):
        return t.values[0]
    if isinstance(t, i.StrType):
        return f"v{n}" if not t.pattern else "x"
    if isinstance(t, i.BoolType):
        return True
    if isinstance(t, i.IntType | i.FloatType):
        lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else 0)
        hi = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else 1_000)
        return min(max(lo, 1 + n), hi)
    if isinstance(t, i.DateTimeType):
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()
    if isinstance(t, i.ListType | i.SetType | i.FrozenSetType | i.VarTupleType):
        return [_value(t.item_type, k) for k in range(2)]
    if isinstance(t, i.DictType):
        return {}
    if isinstance(t, i.StructType):
        return {f.encode_name: _value(f.type, n) for f in t.fields}
    return None


def example(payload: type) -> Any:
    """An instance of ``payload`` with every field set (item lists with two items)."""
    info = msgspec.inspect.type_info(payload)
    assert isinstance(info, msgspec.inspect.StructType)
    return msgspec.convert({f.encode_name: _value(f.type, 0) for f in info.fields}, payload)


def test_every_event_target_has_a_shape() -> None:
    assert set(SHAPES) == {t.name for t in EVENT_TARGETS}


@pytest.mark.parametrize("target", EVENT_TARGETS, ids=lambda t: t.name)
def test_projected_items_agree_with_the_whole_payload(target: Any) -> None:
    data = example(EVENTS[target.source].payload)
    whole = list(target.items(msgspec.to_builtins(data)))
    assert whole, "the example has no items"
    fields = sorted(target.fields)
    nested = {"any": [{f"{fields[0]}.x": 1}, {"not": {fields[-1]: 1}}]}
    for wheres in ([], [{k: {"exists": True}} for k in fields], [nested]):
        read = set().union(*(referenced(w) for w in wheres))
        projected = list(target.items(projector(target, wheres)(data)))
        assert [e for e, _ in projected] == [e for e, _ in whole]  # the same entities in the same order
        for (_, p), (_, w) in zip(projected, whole, strict=True):
            assert {k: p.get(k) for k in read} == {k: w.get(k) for k in read}


def test_referenced_names_the_top_level_fields() -> None:
    assert referenced({"a": 1, "b.c": {"gt": 1}, "any": [{"d": 1}, {"not": {"e": 2}}]}) == {"a", "b", "d", "e"}
