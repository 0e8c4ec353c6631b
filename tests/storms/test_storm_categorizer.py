"""categorizer (OpenAI path) under a storm: 429 with and without retry-after, 5xx bursts,
answers slower than the client timeout and truncated JSON, on the developer's fake server.

tests/categorizer/test_service.py covers 429-with-retry-after, 500 and a poisoned item; here
the storm adds 429s without retry-after, 502/503 bursts and requests that outlive the
timeout, and checks the budget (requests in flight never above ``OPENAI_CONCURRENCY``),
that every subreddit is still tagged exactly once, and that the usage adds up.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from aiohttp import web
from b9_categorizer.main import SERVICE
from b9_categorizer.settings import Settings
from b9_common.events import Envelope, SubredditCategorized
from b9_common.service import Runtime, serve
from cat_data import real_subreddits
from cat_fake_openai import FakeOpenAI
from msgspec.json import Decoder

CONCURRENCY = 3
# Request number -> fault, for the first 21 requests (retries get new numbers, so it ends).
STORM = {0: "429", 1: "429bare", 2: "503", 3: "500", 4: "slow", 5: "502", 6: "429bare",
         8: "malformed", 9: "slow", 11: "503", 12: "503", 13: "503", 15: "429", 17: "slow",
         18: "502", 20: "malformed"}


class StormOpenAI(FakeOpenAI):
    """The categorizer developer's fake plus 429 without retry-after, 502/503 and slow answers."""

    slow_s: float = 2.0
    inflight: int = 0
    peak: int = 0

    async def _handle(self, request: web.Request) -> web.Response:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        try:
            body = await request.json()
            n = len(self.requests)
            kind = STORM.get(n)
            if kind in ("429bare", "502", "503", "slow"):
                self.requests.append(body)
                if kind == "slow":
                    await asyncio.sleep(self.slow_s)
                    return self._reply(500, data={"error": {"message": "too late"}})
                status = 429 if kind == "429bare" else int(kind)
                return self._reply(status, data={"error": {"message": kind, "type": "storm"}})
            return await super()._handle(request)
        finally:
            self.inflight -= 1


async def test_storm_tags_everything_within_the_concurrency_budget(rt: Runtime, nats_url: str) -> None:
    fake = StormOpenAI()
    fake.plan = lambda n, body: STORM.get(n) if STORM.get(n) in ("429", "500", "malformed") else None
    await fake.start()
    subs = [s for s in real_subreddits() if s.name != "TEST_SUBREDDIT"][:30]
    got: list[SubredditCategorized] = []
    dlq: list[str] = []
    dec = Decoder(Envelope[SubredditCategorized])

    async def on_result(msg: Any) -> None:
        got.append(dec.decode(msg.data).data)

    async def on_dlq(msg: Any) -> None:
        dlq.append((msg.headers or {}).get("B9-Dlq-Reason", ""))

    s1 = await rt.nc.subscribe(rt.topology.subject("subreddit.categorized"), cb=on_result)
    s2 = await rt.nc.subscribe(rt.topology.dlq_subject(">"), cb=on_dlq)
    settings = Settings(nats_url=nats_url, b9_namespace=rt.topology.namespace, metrics_port=-1,
                        openai_api_key="test", openai_base_url=fake.url, openai_model="m1",
                        openai_prices='{"m1": [2.0, 8.0]}', openai_batch_size=5,
                        openai_concurrency=CONCURRENCY, openai_max_retries=3, openai_timeout=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop, grace=5))
    try:
        await rt.publisher.publish_many(subs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len({g.name for g in got}) < len(subs) and not dlq:
            assert not task.done(), f"categorizer stopped: {task.exception() if task.done() else ''}"
            assert loop.time() < deadline, f"{len(got)} of {len(subs)} tagged"
            await asyncio.sleep(0.1)
        # the service's own accounting (heartbeat status) has seen every answer's usage
        hb = await rt.topology.heartbeat_kv(rt.js)

        async def usage() -> dict[str, Any]:
            for key in await hb.keys():
                if key.startswith("categorizer."):
                    entry = await hb.get(key)
                    u: dict[str, Any] = msgspec.json.decode(entry.value or b"{}")
                    return u.get("detail", {}).get("usage", {}).get("m1", {})
            return {}

        while (await usage()).get("tokens_in") != fake.usage_total["prompt"]:
            assert loop.time() < deadline + 30, (await usage(), fake.usage_total)
            await asyncio.sleep(0.2)
        seen = await usage()
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await s1.unsubscribe()
        await s2.unsubscribe()
        await fake.stop()
    assert dlq == []
    assert sorted(g.name for g in got) == sorted(s.name for s in subs)  # each exactly once
    assert {g.method for g in got} == {"openai"}
    served = set(STORM) & set(range(len(fake.requests)))
    assert served == set(STORM), "the storm did not run to its end"
    assert fake.peak <= CONCURRENCY
    # usage adds up exactly (README): the usage every answer reported is on the published
    # results, except what answers that tagged nothing carried (counted as unattributed)
    assert (seen["tokens_in"], seen["tokens_out"]) == (
        fake.usage_total["prompt"], fake.usage_total["completion"])
    results = sum(g.tokens_in + g.tokens_out for g in got)
    assert results + seen["unattributed_tokens"] == sum(fake.usage_total.values())
    clean = sum(u[0] for n, u in fake.usage_by_request.items() if n not in STORM)
    assert clean <= sum(g.tokens_in for g in got)
    for g in got:
        assert abs(g.cost_usd - (g.tokens_in * 2.0 + g.tokens_out * 8.0) / 1e6) < 1e-12
