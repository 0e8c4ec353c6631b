"""The OpenAI path with the official client against a local OpenAI-compatible server."""

from __future__ import annotations

import openai
import pytest
from b9_categorizer.accounting import Pricing
from b9_categorizer.content import CreatorInput, subreddit_input
from b9_categorizer.llm import Failed, OpenAITagger, Tagged
from b9_categorizer.taxonomy import load_taxonomy
from cat_data import real_subreddits
from cat_fake_openai import FakeOpenAI

TAX = load_taxonomy()
PRICE = (1.25, 10.0)


def _tagger(server: FakeOpenAI, *, retries: int = 6, batch: int = 10, **kw: object) -> OpenAITagger:
    client = openai.AsyncOpenAI(
        api_key="test", base_url=server.url, max_retries=retries, timeout=10
    )
    return OpenAITagger(
        client,
        TAX,
        Pricing({"test-model": PRICE, "vision-model": (0.3, 2.5)}),
        model="test-model",
        vision_model="vision-model",
        batch_size=batch,
        concurrency=3,
        answer_retries=2,
        **kw,
    )  # type: ignore[arg-type]


def _items(n: int):
    return [subreddit_input(s) for s in real_subreddits()[:n]]


def _oracle(server: FakeOpenAI, items) -> dict[str, list[str]]:
    """A distinct, known answer per subreddit, so a mix-up cannot go unnoticed."""
    for i, it in enumerate(items):
        server.oracle[it.name] = [TAX.tags[i % len(TAX.tags)]]
    return {it.key: server.oracle[it.name] for it in items}


def _tokens_add_up(server: FakeOpenAI, tagger: OpenAITagger, results) -> None:
    tin = sum(r.tokens_in for r in results if isinstance(r, Tagged))
    tout = sum(r.tokens_out for r in results if isinstance(r, Tagged))
    u = tagger.pricing.usage["test-model"]
    assert tin + u.unattributed_tokens_in == server.usage_total["prompt"] == u.tokens_in
    assert tout + u.unattributed_tokens_out == server.usage_total["completion"] == u.tokens_out
    cost = sum(r.cost_usd for r in results if isinstance(r, Tagged))
    assert cost == pytest.approx((tin * PRICE[0] + tout * PRICE[1]) / 1e6)


async def test_batched_requests_carry_the_schema_and_map_back(fake_openai: FakeOpenAI) -> None:
    items = _items(25)
    want = _oracle(fake_openai, items)
    tagger = _tagger(fake_openai)
    out = await tagger.subreddits(items)
    assert len(fake_openai.requests) == 3  # 10 + 10 + 5 per request
    for body in fake_openai.requests:
        rf = body["response_format"]
        assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
        enum = rf["json_schema"]["schema"]["properties"]["results"]["items"]["properties"]["tags"]
        assert enum["items"]["enum"] == list(TAX.tags) and enum["maxItems"] == 2
        assert body["model"] == "test-model"
    sent = [n for b in fake_openai.requests for n in fake_openai.names_in(b)]
    assert sorted(sent) == sorted(it.name for it in items)
    assert {k: v.tags for k, v in out.items() if isinstance(v, Tagged)} == want
    _tokens_add_up(fake_openai, tagger, out.values())
    assert tagger.pricing.snapshot()["test-model"]["requests"] == 3


async def test_429_and_500_storm_is_survived(fake_openai: FakeOpenAI) -> None:
    items = _items(30)
    want = _oracle(fake_openai, items)
    fake_openai.plan = lambda n, b: "429" if n < 4 else ("500" if n % 3 == 0 and n < 12 else None)
    tagger = _tagger(fake_openai, batch=5)
    out = await tagger.subreddits(items)
    assert {k: v.tags for k, v in out.items() if isinstance(v, Tagged)} == want
    assert fake_openai.statuses.count(429) == 4 and 500 in fake_openai.statuses
    _tokens_add_up(fake_openai, tagger, out.values())


async def test_persistent_errors_become_retry_outcomes(fake_openai: FakeOpenAI) -> None:
    fake_openai.plan = lambda n, b: "500"
    out = await _tagger(fake_openai, retries=1).subreddits(_items(3))
    assert all(
        isinstance(v, Failed) and v.retry and "InternalServerError" in v.reason
        for v in out.values()
    )
    assert len(fake_openai.requests) == 2  # the client's own retry, then give up
    fake_openai.plan = lambda n, b: "429"
    fake_openai.retry_after = "7"
    out = await _tagger(fake_openai, retries=0).subreddits(_items(1))
    (only,) = out.values()
    assert isinstance(only, Failed) and only.retry and only.delay == 7.0


async def test_partial_and_invalid_answers_are_asked_again(fake_openai: FakeOpenAI) -> None:
    items = _items(10)
    want = _oracle(fake_openai, items)
    fake_openai.plan = lambda n, b: {0: "partial", 1: "badtag"}.get(n)
    tagger = _tagger(fake_openai, batch=10)
    out = await tagger.subreddits(items)
    # the partial answer dropped one item: only it is asked again; its next answer carried a
    # tag outside the taxonomy (ignored), so it is asked a third time
    dropped = fake_openai.names_in(fake_openai.requests[0])[0]
    assert [fake_openai.names_in(b) for b in fake_openai.requests[1:]] == [[dropped], [dropped]]
    assert {k: v.tags for k, v in out.items() if isinstance(v, Tagged)} == want
    _tokens_add_up(fake_openai, tagger, out.values())


async def test_malformed_batch_is_split_and_bad_items_fail_permanently(
    fake_openai: FakeOpenAI,
) -> None:
    items = _items(4)
    want = _oracle(fake_openai, items)
    bad = items[2].name
    fake_openai.plan = lambda n, b: "malformed" if bad in fake_openai.names_in(b) else None
    tagger = _tagger(fake_openai)
    out = await tagger.subreddits(items)
    # 1 request for the 4, then one per item; the bad one twice more (3 attempts in all)
    assert len(fake_openai.requests) == 1 + 4 + 1
    for it in items:
        v = out[it.key]
        if it.name == bad:
            assert isinstance(v, Failed) and not v.retry
            assert "malformed after 3 attempts" in v.reason
        else:
            assert isinstance(v, Tagged) and v.tags == want[it.key]
    _tokens_add_up(fake_openai, tagger, out.values())


async def test_creator_images_and_the_075_rule(fake_openai: FakeOpenAI) -> None:
    cats = [c.name for c in TAX.visual]
    fake_openai.creator_oracle = {
        "tags": {c: [] for c in cats}
        | {
            "body_type": ["curvy"],
            "breasts": ["large"],
            "hair_color": ["blonde"],
            "ethnicity": ["latina"],
        },
        "confidence": {c: 0.9 for c in cats}
        | {"breasts": 0.5, "hair_color": 0.6, "ethnicity": 0.4},
        "reasoning": "visible",
    }
    urls = [f"https://cdn.example/p{i}.jpg?sig=x" for i in range(5)]
    item = CreatorInput(key="42", username="someone", biography="hi", image_urls=urls)
    out = await _tagger(fake_openai).creator(item)
    assert isinstance(out, Tagged)
    assert out.tags == [
        "body_type:curvy",
        "breasts:medium",
        "butt:bubble",
        "age_appearance:young_adult",
        "ethnicity:uncertain",
    ]
    assert out.per_category["hair_color"] == 0.6 and out.per_category["body_type"] == 0.9
    (body,) = fake_openai.requests
    assert body["model"] == "vision-model"
    parts = body["messages"][1]["content"]
    assert [p["image_url"]["url"] for p in parts if p["type"] == "image_url"] == urls
    assert body["response_format"]["json_schema"]["name"] == "creator_tags"
    assert out.cost_usd == pytest.approx((out.tokens_in * 0.3 + out.tokens_out * 2.5) / 1e6)
