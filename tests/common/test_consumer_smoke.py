"""Backbone acceptance: dedup, ack/nak/DLQ mapping, undecodable messages."""

from __future__ import annotations

import asyncio

from b9_common.errors import Reject, Retry
from b9_common.events import Envelope, ScrapeAttempted, SubredditDiscovered
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import Runtime


def _attempt(i: int) -> ScrapeAttempted:
    return ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=f"s{i}", outcome="success")


async def _wait_for(cond, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_same_event_id_is_stored_once(rt: Runtime) -> None:
    env = rt.publisher.envelope(_attempt(1))
    await rt.publisher.publish_envelope(env)
    await rt.publisher.publish_envelope(env)
    info = await rt.js.stream_info(rt.topology.stream("SCRAPE"))
    assert info.state.messages == 1


async def test_outcomes_map_to_ack_nak_and_dlq(rt: Runtime) -> None:
    seen: dict[str, int] = {}

    async def handler(env: Envelope[ScrapeAttempted]) -> None:
        t = env.data.target
        seen[t] = seen.get(t, 0) + 1
        if t == "transient" and seen[t] == 1:
            raise Retry("upstream down", delay=0.2)
        if t == "permanent":
            raise Reject("bad data")
        if t == "always":
            raise Retry("never works", delay=0.05)

    spec = ConsumerSpec(name="smoke", stream="SCRAPE", subjects=("scrape.attempted",), max_deliver=3)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler)
    await c.start()
    for t in ("ok", "transient", "permanent", "always"):
        await rt.publisher.publish(ScrapeAttempted(scraper="reddit", target_kind="subreddit",
                                                   target=t, outcome="success"))
    # undecodable bytes on a catalogued subject
    await rt.js.publish(rt.topology.subject("scrape.attempted"), b"{not json")
    await _wait_for(lambda: c.counts["dlq"] == 3 and c.counts["ack"] == 2)
    await asyncio.sleep(0.5)
    assert seen == {"ok": 1, "transient": 2, "permanent": 1, "always": 3}
    dlq = await rt.js.stream_info(rt.topology.stream("DLQ"))
    assert dlq.state.messages == 3
    reasons = []
    for seq in range(1, 4):
        m = await rt.js.get_msg(rt.topology.stream("DLQ"), seq)
        reasons.append(m.headers["B9-Dlq-Reason"])
    assert any("bad data" in r for r in reasons)
    assert any("max deliveries (3) exhausted: never works" in r for r in reasons)
    assert any("undecodable" in r for r in reasons)
    await c.stop()


async def test_consumer_keeps_going_after_bad_payload(rt: Runtime) -> None:
    got: list[str] = []

    async def handler(env: Envelope[SubredditDiscovered]) -> None:
        got.append(env.data.name)

    spec = ConsumerSpec(name="bad", stream="SCRAPE", subjects=("subreddit.discovered",))
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler)
    await c.start()
    await rt.js.publish(rt.topology.subject("subreddit.discovered"), b'{"id":"x","type":"subreddit.discovered"}')
    for i in range(50):
        await rt.publisher.publish(SubredditDiscovered(name=f"sub{i}"))
    await _wait_for(lambda: len(got) == 50)
    assert c.counts["dlq"] == 1
    await c.stop()


async def test_per_event_handlers_run_up_to_the_concurrency_and_every_event_is_acked_once(rt: Runtime) -> None:
    """A burst wakes one idle worker and each worker that leaves messages behind wakes the next:
    handlers that wait still fill the pool, and the acks written together settle every event."""
    gate = asyncio.Event()
    running = 0
    most = 0
    seen: list[str] = []

    async def handler(env: Envelope[ScrapeAttempted]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        seen.append(env.data.target)
        running -= 1

    spec = ConsumerSpec(name="pool", stream="SCRAPE", subjects=("scrape.attempted",))
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler, concurrency=8)
    await c.start()
    await rt.publisher.publish_many([_attempt(i) for i in range(40)])
    await _wait_for(lambda: running == 8 and len(c.engine.buffer) == 32)
    await asyncio.sleep(0.1)
    assert most == 8 and not seen and len(c.engine.buffer) == 32
    gate.set()
    await _wait_for(lambda: c.counts["ack"] == 40)
    info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "pool")
    for _ in range(50):
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
        info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), "pool")
    await c.stop()
    assert sorted(seen) == sorted(f"s{i}" for i in range(40))
    assert (info.num_ack_pending, info.num_redelivered) == (0, 0) and c._acks is not None and c._acks.writes < 40
