"""The replay primitive a rebuild runs on: it ends only when every message of the slice has
settled, also when an earlier batch is still being written (and then retried) after the batch
holding the last message is done, and when a retry's delay is longer than its polling."""

from __future__ import annotations

import asyncio

from b9_common.errors import Retry
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.runner import Slice, replay
from b9_common.service import ConsumerDef, Runtime
from pfactories import subreddit


async def test_replay_waits_for_a_slow_batch_that_is_retried_after_the_last_one(rt: Runtime) -> None:
    await rt.publisher.publish_many([rt.publisher.envelope(subreddit(f"s{i}")) for i in range(40)])
    seen: dict[int, int] = {}
    calls = 0

    async def handler(ds: list[Delivery]) -> None:
        nonlocal calls
        calls += 1
        first = calls == 1
        for d in ds:
            seen[d.meta.stream_seq] = seen.get(d.meta.stream_seq, 0) + 1
        if first:  # the first batch is slow, then fails: the later batches finish before it
            await asyncio.sleep(0.5)
            raise Retry("transient", 1.0)

    spec = ConsumerSpec(name="t", stream="SCRAPE", subjects=("subreddit.fetched",), max_deliver=5)
    cdef = ConsumerDef(spec, batch_handler=handler, batch=10, batch_concurrency=4)
    report = await replay(rt, cdef, Slice(stream="SCRAPE"), idle_timeout=10)
    assert report.complete and report.handled == 40 and report.retried == 10
    assert sorted(seen) == list(range(1, 41)) and sum(seen.values()) == 50
