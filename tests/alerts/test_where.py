"""The ``where`` language and the webhook URL rules, as pure functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from b9_alerts.index import Matcher
from b9_alerts.rules import Rule
from b9_common.alerting.rules import TARGETS, WhereError, compile_where
from b9_common.net import webhook_url

SUB = TARGETS["subreddit.fetched"].fields


@pytest.mark.parametrize(("where", "fields", "expected"), [
    ({}, {"name": "x"}, True),
    ({"name": "Pics"}, {"name": "pics"}, True),
    ({"name": "pics"}, {"name": "aww"}, False),
    ({"subscribers": {"gte": 10, "lt": 20}}, {"subscribers": 10}, True),
    ({"subscribers": {"gte": 10, "lt": 20}}, {"subscribers": 20}, False),
    ({"subscribers": {"gte": 10}}, {"subscribers": None}, False),
    ({"subscribers": {"gt": 10}}, {"subscribers": "11"}, False),  # no coercion across types
    ({"over18": True}, {"over18": True}, True),
    ({"subscribers": {"ne": 5}}, {}, True),
    ({"name": {"in": ["A", "b"]}}, {"name": "a"}, True),
    ({"name": {"not_in": ["a", "b"]}}, {"name": "c"}, True),
    ({"name": {"exists": False}}, {}, True),
    ({"title": {"contains": "COSPLAY"}}, {"title": "Best cosplay"}, True),
    ({"tags": "niche:cosplay"}, {"tags": ["niche:cosplay", "x"]}, True),
    ({"tags": {"contains": "niche:gaming"}}, {"tags": ["niche:cosplay"]}, False),
    ({"tags": {"in": ["a", "niche:x"]}}, {"tags": ["niche:x"]}, True),
    ({"metrics.subreddit_score": {"gt": 50}}, {"metrics": {"subreddit_score": 51.5}}, True),
    ({"metrics.subreddit_score": {"gt": 50}}, {"metrics": None}, False),
    ({"any": [{"name": "a"}, {"subscribers": {"gte": 100}}]}, {"name": "b", "subscribers": 100}, True),
    ({"not": {"name": "a"}}, {"name": "a"}, False),
    ({"subscribers": {"gte": 1}}, {"subscribers": True}, False),  # a boolean is not a number
    ({"score": {"lt": 1.5}}, {"score": 1}, True),
    ({"name": {"in": ["a"]}}, {"name": None}, False),
    ({"over18": False}, {"over18": 0}, False),
    ({"name": "x", "subscribers": {"gt": 1}, "over18": False}, {"name": "X", "subscribers": 2, "over18": False}, True),
])
def test_filters_hold_as_documented(where: dict, fields: dict, expected: bool) -> None:
    assert compile_where(where)(fields) is expected


@pytest.mark.parametrize(("where", "reason"), [
    ([], "must be an object"),
    ({"nope": 1}, "unknown field 'nope'"),
    ({"name": {"like": "a%"}}, "unknown operator 'like'"),
    ({"name": {}}, "has no operator"),
    ({"name": {"in": list(range(1001))}}, "at most 1000"),
    ({"subscribers": {"gt": [1]}}, "number or a string"),
    ({"name": {"exists": "yes"}}, "true or false"),
    ({"not": {"not": {"not": {"not": {"not": {"not": {"name": "a"}}}}}}}, "5 deep"),
    ({"any": [{"name": str(i)} for i in range(201)]}, "at most 200"),
])
def test_bad_filters_say_why(where: object, reason: str) -> None:
    with pytest.raises(WhereError, match=reason):
        compile_where(where, SUB)


def test_targets_name_their_fields_and_entities() -> None:
    post = {"posts": [{"reddit_id": "p1", "subreddit": "pics", "score": 9000, "title": "t"}], "listing": "other"}
    [(entity, fields)] = list(TARGETS["post.fetched"].items(post))
    assert entity == "p1" and fields["listing"] == "other" and compile_where({"score": {"gte": 5000}})(fields)
    creator = {"ig_user_id": "42", "username": "ann", "followers_count": 10, "reels": [{"media_pk": "m1",
               "is_viral": True}], "posts": [{"media_pk": "m2", "is_viral": False}]}
    got = list(TARGETS["creator.media"].items(creator))
    assert [e for e, _ in got] == ["m1", "m2"] and got[0][1]["creator"]["username"] == "ann"
    assert TARGETS["creator.media"].link("m1", got[0][1]) == "/#/instagram/creators/42"
    assert {"score", "num_comments", "listing"} <= TARGETS["post.fetched"].fields


def _rule(id_: str, where: dict) -> Rule:
    return Rule(id=id_, name=id_, on="subreddit.fetched", where=where, webhook=None, slack=False, repeat="once",
                cap=1, window_seconds=1, paused=False, created_at=datetime.now(UTC),
                decided=(datetime.now(UTC), id_), predicate=compile_where(where))


def test_the_index_offers_every_rule_that_can_match() -> None:
    rules = [_rule("names", {"name": {"in": ["Pics", "aww"]}}), _rule("one", {"name": "pics", "over18": False}),
             _rule("big", {"subscribers": {"gte": 1000}}), _rule("bigger", {"subscribers": {"gt": 5000}}),
             _rule("tags", {"tags": "niche:x"}), _rule("q", {"any": [{"name": "q"}]}),
             _rule("free", {"not": {"name": "pics"}}), _rule("bio", {"title": {"contains": "Cos"}, "over18": False}),
             _rule("either", {"any": [{"subscribers": {"gte": 9000}}, {"title": {"contains": "viral"}},
                                      {"tags": {"contains": "niche:v"}}]})]
    m = Matcher(rules)

    def ids(f: dict) -> list[str]:
        offered = [r.id for r in m.candidates(f)]
        assert len(offered) == len(set(offered))  # each rule offered once
        return sorted(i for i in offered if next(r for r in rules if r.id == i).predicate(f))  # type: ignore[misc]

    assert ids({"name": "PICS", "over18": False, "subscribers": 6000}) == ["big", "bigger", "names", "one"]
    assert ids({"name": "aww", "subscribers": 1000}) == ["big", "free", "names"]
    assert ids({"name": "q", "tags": ["niche:x", "niche:y"], "subscribers": None}) == ["free", "q", "tags"]
    assert ids({"name": "a", "title": "COSPLAY and more", "over18": False}) == ["bio", "free"]
    assert ids({"name": "a", "title": "gone VIRAL", "subscribers": 9000}) == ["big", "bigger", "either", "free"]
    assert ids({"name": "a", "tags": ["niche:v", "niche:v"]}) == ["either", "free"]
    # nothing else examined: a name no list holds, a number under every threshold, a text no rule looks for
    assert {r.id for r in m.candidates({"name": "zzz", "subscribers": 10, "title": "plain"})} == {"free"}
    for f in ({"name": "pics", "subscribers": 1000.0}, {"name": "aww", "subscribers": 5001, "tags": ["NICHE:X"]}):
        assert ids(f) == sorted(r.id for r in rules if r.predicate and r.predicate(f))  # the index loses none


def test_the_index_loses_no_match_of_random_filters() -> None:
    rnd = random.Random(23)
    words = ["a", "B", "ab", "cos", "Cosplay", "x.y", "", "niche:x"]

    def cond(key: str) -> object:
        if key == "subscribers":
            op = rnd.choice(["gte", "gt", "lt", "eq", "ne", "in"])
            return {op: [rnd.randint(0, 9)] if op == "in" else rnd.choice([0, 3, 5.5, 9])}
        op = rnd.choice(["eq", "in", "contains", "ne", "not_in", "exists", "bare"])
        if op == "bare":
            return rnd.choice(words)
        if op in ("in", "not_in"):
            return {op: rnd.sample(words, 2)}
        return {op: rnd.random() < 0.5} if op == "exists" else {op: rnd.choice(words)}

    def where(depth: int = 0) -> dict:
        out: dict = {}
        for _ in range(rnd.randint(1, 2)):
            kind = rnd.random()
            if kind < 0.2 and depth < 2:
                out["any"] = [where(depth + 1) for _ in range(rnd.randint(1, 3))]
            elif kind < 0.25 and depth < 2:
                out["not"] = where(depth + 1)
            else:
                key = rnd.choice(["name", "title", "tags", "subscribers"])
                out[key] = cond(key)
        return out

    def value(key: str) -> object:
        if key == "subscribers":
            return rnd.choice([None, True, 0, 3, 5.5, 7, 9, 10, "5"])
        if key == "tags" or rnd.random() < 0.2:
            return [rnd.choice(words) for _ in range(rnd.randint(0, 3))]
        return rnd.choice([None, 3, *words, "xCOSPLAYx", "ab.ab"])

    for _ in range(300):
        rules = [_rule(f"r{i}", where()) for i in range(rnd.randint(1, 12))]
        m = Matcher(rules)
        for _ in range(20):
            f = {k: value(k) for k in ("name", "title", "tags", "subscribers") if rnd.random() < 0.9}
            want = [r.id for r in rules if r.predicate and r.predicate(f)]
            offered = [r.id for r in m.candidates(f)]
            assert len(offered) == len(set(offered)), (f, offered)
            assert set(want) <= set(offered), (f, [r.where for r in rules if r.id in set(want) - set(offered)])


@pytest.mark.parametrize(("url", "allowed", "reason"), [
    ("https://hooks.example.com/x", (), None),
    ("http://hooks.example.com/x", (), "plain http"),
    ("http://127.0.0.1:9/x", ("127.0.0.1",), None),
    ("https://127.0.0.1/x", (), "loopback"),
    ("https://169.254.169.254/", (), "link-local"),
    ("https://[::1]/", (), "loopback"),
    ("https://0x7f.1/", ("*",), "non-canonical"),
    ("https://a:b@example.com/", (), "credentials"),
    ("https://example.com:99999/", (), "not a URL"),
    ("https://x.internal.corp/", ("*.corp",), None),
])
def test_webhook_urls_follow_the_ssrf_rules(url: str, allowed: tuple[str, ...], reason: str | None) -> None:
    why = webhook_url.problem(url, allowed)
    assert (why is None) if reason is None else (why is not None and reason in why), why


async def test_names_are_resolved_and_every_answer_checked() -> None:
    why = await webhook_url.resolve_problem("https://localhost/x")
    assert why is not None and "loopback" in why
    assert webhook_url.addresses_problem("h", ["8.8.8.8", "10.0.0.1"], ()) == \
        "h resolves to 10.0.0.1, not a public address (private (10/8))"
    assert webhook_url.addresses_problem("h", ["10.0.0.1"], ("h",)) is None
