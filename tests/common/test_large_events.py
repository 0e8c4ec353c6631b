"""Large events (posts.fetched with 100 posts, ~30 KB each) stream through a batch consumer
without the server cutting the client off as a slow consumer (which would show as
redeliveries after ack_wait): pull requests are bounded in bytes as well as in messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from b9_common.events import PostsFetched, RedditPost
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import Runtime

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _event(i: int) -> PostsFetched:
    return PostsFetched(posts=[
        RedditPost(reddit_id=f"p{i}_{j}", subreddit=f"s{i}", title="t" * 200, selftext="x" * 60,
                   created_utc=NOW) for j in range(100)
    ])


async def test_large_events_arrive_once_with_no_redelivery(rt: Runtime) -> None:
    n = 3000  # ~90 MB in all: more than the server lets one client have pending
    seen: set[int] = set()

    async def handle(ds: list[Delivery]) -> None:
        await asyncio.sleep(0.01)  # a writer's round trip
        for d in ds:
            seen.add(d.meta.stream_seq)

    spec = ConsumerSpec(name="big", stream="SCRAPE", subjects=("posts.fetched",), ack_wait=10)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, batch_handler=handle,
                 batch=512, batch_concurrency=4)
    await rt.publisher.publish_many(_event(i) for i in range(n))
    await c.start()
    for _ in range(600):
        if len(seen) == n:
            break
        await asyncio.sleep(0.05)
    info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "big")
    await c.stop()
    assert len(seen) == n
    assert info.num_redelivered == 0
    assert c.counts["ack"] == n
