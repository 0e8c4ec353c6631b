"""The categorizer as a service on real NATS JetStream: events in, results out, DLQ, replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from b9_categorizer.main import SERVICE, build_pipeline, consumer_defs
from b9_categorizer.settings import Settings
from b9_categorizer.taxonomy import default_taxonomy_bytes
from b9_common.events import (
    CategorizeItem,
    CategorizeRequested,
    CreatorCategorized,
    Envelope,
    SubredditCategorized,
    SubredditFetched,
)
from b9_common.replay.runner import Slice, replay
from b9_common.service import Runtime, serve
from cat_data import real_subreddits
from cat_fake_openai import FakeOpenAI


class Collector:
    def __init__(self) -> None:
        self.subs: list[SubredditCategorized] = []
        self.creators: list[CreatorCategorized] = []
        self.dlq: list[tuple[str, str]] = []


@asynccontextmanager
async def collecting(rt: Runtime) -> AsyncIterator[Collector]:
    col = Collector()
    sdec = msgspec.json.Decoder(Envelope[SubredditCategorized])
    cdec = msgspec.json.Decoder(Envelope[CreatorCategorized])

    async def on_sub(msg: Any) -> None:
        col.subs.append(sdec.decode(msg.data).data)

    async def on_creator(msg: Any) -> None:
        col.creators.append(cdec.decode(msg.data).data)

    async def on_dlq(msg: Any) -> None:
        col.dlq.append((msg.subject, (msg.headers or {}).get("B9-Dlq-Reason", "")))

    subs = [
        await rt.nc.subscribe(rt.topology.subject("subreddit.categorized"), cb=on_sub),
        await rt.nc.subscribe(rt.topology.subject("creator.categorized"), cb=on_creator),
        await rt.nc.subscribe(rt.topology.dlq_subject(">"), cb=on_dlq),
    ]
    yield col
    for s in subs:
        await s.unsubscribe()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop, grace=5))
    await asyncio.sleep(0.8)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def until(cond: Callable[[], bool], within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def settings_for(rt: Runtime, nats_url: str, **kw: Any) -> Settings:
    return Settings(nats_url=nats_url, b9_namespace=rt.topology.namespace, metrics_port=-1, **kw)


async def test_rules_default_then_replay_after_taxonomy_bump(
    rt: Runtime, nats_url: str, tmp_path: Path
) -> None:
    subs = real_subreddits()
    settings = settings_for(rt, nats_url)
    async with collecting(rt) as col, running(settings):
        await rt.publisher.publish_many(subs)
        await until(lambda: len(col.subs) == len(subs))
        first = {s.name: s for s in col.subs}
        assert {s.method for s in col.subs} == {"rules"} and {s.model for s in col.subs} == {
            "rules-1"
        }
        assert {s.taxonomy_version for s in col.subs} == {"1"}
        assert first["RedditorCum"].tags == ["niche:amateur"]
        assert first["RedditorCum"].primary_category == "niche"
        # the same content again: nothing new is published
        await rt.publisher.publish_many(subs[:10])
        await asyncio.sleep(1.0)
        assert len(col.subs) == len(subs)
        # every delivery was acked (the runtime acks a batch in one write), none redelivered
        info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "categorizer")
        assert info.num_pending == 0 and info.num_ack_pending == 0
        assert info.num_redelivered == 0 and info.delivered.consumer_seq == len(subs) + 10
    # bump the taxonomy (v2 adds nail polish to the catch-all) and replay subreddit.fetched
    edited = default_taxonomy_bytes().decode().replace('version = "1"', 'version = "2"')
    edited = edited.replace('"niche:general" = [', '"niche:general" = ["polish", ')
    path = tmp_path / "taxonomy.toml"
    path.write_text(edited)
    v2 = settings_for(rt, nats_url, taxonomy_path=str(path))
    async with collecting(rt) as col2:
        pipeline = await build_pipeline(v2, rt)
        report = await replay(
            rt,
            consumer_defs(v2, pipeline)[0],
            Slice(stream="SCRAPE", subjects=("subreddit.fetched",)),
        )
        await until(lambda: len({s.name for s in col2.subs}) == len(subs))
    assert report.complete and report.handled + report.skipped == len(subs) + 10
    assert {s.taxonomy_version for s in col2.subs} == {"2"}
    second = {s.name: s for s in col2.subs}
    assert set(second) == set(first)
    assert first["RedditLaqueristas"].tags == [] and second["RedditLaqueristas"].tags == []  # SFW
    assert all(second[n].content_hash != first[n].content_hash for n in first)


async def test_openai_storm_dlq_costs_and_cache(
    rt: Runtime, nats_url: str, fake_openai: FakeOpenAI
) -> None:
    subs = [s for s in real_subreddits() if s.name != "TEST_SUBREDDIT"][:40]
    poison = SubredditFetched(name="poisoned", title="always answered with garbage")
    fake_openai.plan = lambda n, b: (
        "malformed"
        if "poisoned" in fake_openai.names_in(b)
        else "429"
        if n < 3
        else "500"
        if n % 4 == 0 and n < 20
        else None
    )
    settings = settings_for(
        rt,
        nats_url,
        openai_api_key="test",
        openai_base_url=fake_openai.url,
        openai_model="m1",
        openai_prices='{"m1": [2.0, 8.0]}',
        openai_batch_size=7,
        openai_max_retries=6,
    )
    async with collecting(rt) as col, running(settings):
        await rt.publisher.publish_many([*subs, poison])
        await until(lambda: len(col.subs) == len(subs) and len(col.dlq) == 1, within=40)
        assert {s.name for s in col.subs} == {s.name for s in subs}
        assert col.dlq[0][0].endswith("dlq.subreddit.fetched") and "malformed" in col.dlq[0][1]
        assert {s.method for s in col.subs} == {"openai"} and {s.model for s in col.subs} == {"m1"}
        assert 429 in fake_openai.statuses and 500 in fake_openai.statuses
        tin = sum(s.tokens_in for s in col.subs)
        tout = sum(s.tokens_out for s in col.subs)
        # usage adds up: every request's usage is on the published results, except the
        # requests whose answer was unusable (those holding the poisoned item)
        wasted = [
            u
            for n, u in fake_openai.usage_by_request.items()
            if "poisoned" in fake_openai.names_in(fake_openai.requests[n])
        ]
        assert len(wasted) == 3
        assert tin + sum(u[0] for u in wasted) == fake_openai.usage_total["prompt"]
        assert tout + sum(u[1] for u in wasted) == fake_openai.usage_total["completion"]
        assert sum(s.cost_usd for s in col.subs) > 0
        for s in col.subs:
            assert abs(s.cost_usd - (s.tokens_in * 2.0 + s.tokens_out * 8.0) / 1e6) < 1e-12
    sent = len(fake_openai.requests)
    # restart: the cache lives in KV, so republished unchanged content is not sent again
    async with collecting(rt) as col, running(settings):
        await rt.publisher.publish_many(subs)
        await asyncio.sleep(1.5)
        assert len(fake_openai.requests) == sent and col.subs == []


async def test_command_tags_subreddits_and_creator_images(
    rt: Runtime, nats_url: str, fake_openai: FakeOpenAI
) -> None:
    cats = [
        "body_type",
        "breasts",
        "butt",
        "hair_color",
        "hair_length",
        "style",
        "age_appearance",
        "tattoos",
        "piercings",
        "ethnicity",
    ]
    fake_openai.creator_oracle = {
        "tags": {c: [] for c in cats} | {"hair_color": ["redhead"]},
        "confidence": {c: 0.8 for c in cats},
        "reasoning": "",
    }
    fake_openai.oracle["gonewild"] = ["niche:amateur"]
    settings = settings_for(
        rt,
        nats_url,
        openai_api_key="k",
        openai_base_url=fake_openai.url,
        openai_model="m1",
        openai_vision_model="v1",
    )
    cmd = CategorizeRequested(
        items=[
            CategorizeItem(kind="subreddit", key="gonewild", name="gonewild", title="Gone Wild"),
            CategorizeItem(
                kind="creator",
                key="123",
                name="ana",
                description="bio",
                image_urls=["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"],
            ),
            CategorizeItem(kind="creator", key="456", name="noimg"),
        ]
    )
    async with collecting(rt) as col, running(settings):
        await rt.publisher.publish(cmd)
        await until(lambda: len(col.subs) == 1 and len(col.creators) == 1 and len(col.dlq) == 1)
    assert col.subs[0].tags == ["niche:amateur"]
    c = col.creators[0]
    assert c.ig_user_id == "123" and c.model == "v1" and c.method == "openai"
    assert "hair_color:redhead" in c.tags and c.confidence["hair_color"] == 0.8
    assert "noimg" not in col.dlq[0][1] and "456" in col.dlq[0][1] and "no images" in col.dlq[0][1]
