"""Consumer outcomes the README promises: a batch handler's Skip acks, Retry naks on the
documented backoff schedule, and a DLQ copy that cannot be stored leaves the message for
redelivery (then it is dead-lettered once the DLQ is back)."""

from __future__ import annotations

import asyncio
import itertools

from b9_common.errors import Reject, Retry, Skip
from b9_common.events import Envelope, ScrapeAttempted
from b9_common.jetstream.consumer import Consumer, default_backoff
from b9_common.jetstream.delivery import Delivery, nak_payload
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import Runtime


def _attempt(target: str) -> ScrapeAttempted:
    return ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=target, outcome="success")


async def _wait_for(cond, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _consumer_state(rt: Runtime, name: str) -> tuple[int, int, int]:
    info = await rt.js.consumer_info(rt.topology.stream("SCRAPE"), name)
    return info.num_ack_pending, info.num_redelivered, info.num_pending


async def test_batch_handler_skip_acks_and_is_not_redelivered(rt: Runtime) -> None:
    calls: list[int] = []

    async def batch(ds: list[Delivery]) -> None:
        calls.append(len(ds))
        raise Skip("stale")

    spec = ConsumerSpec(name="skipbatch", stream="SCRAPE", subjects=("scrape.attempted",),
                        max_deliver=5, ack_wait=2.0)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, batch_handler=batch,
                 batch=10)
    await c.start()
    try:
        for i in range(5):
            await rt.publisher.publish(_attempt(f"s{i}"))
        await _wait_for(lambda: c.counts["skip"] + c.counts["retry"] >= 5)
        # settled on the server: nothing pending an ack, nothing redelivered
        for _ in range(200):
            state = await _consumer_state(rt, "skipbatch")
            if state[0] == 0 and state[2] == 0:
                break
            await asyncio.sleep(0.05)
        assert c.counts == {"ack": 0, "skip": 5, "retry": 0, "dlq": 0}
        assert await _consumer_state(rt, "skipbatch") == (0, 0, 0)
        assert sum(calls) == 5
    finally:
        await c.stop()


def test_default_backoff_schedule_is_1_2_4_up_to_60_seconds() -> None:
    assert [default_backoff(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert nak_payload(default_backoff(3)) == b'-NAK {"delay": 4000000000}'


async def test_retry_without_delay_is_redelivered_on_the_backoff_schedule(rt: Runtime) -> None:
    """Real redeliveries: the gaps between deliveries follow 1 s, 2 s (the server holds the nak)."""
    loop = asyncio.get_running_loop()
    seen: list[float] = []

    async def handler(env: Envelope[ScrapeAttempted]) -> None:
        seen.append(loop.time())
        raise Retry("upstream down")  # no delay: the runtime's backoff decides

    spec = ConsumerSpec(name="backoff", stream="SCRAPE", subjects=("scrape.attempted",),
                        max_deliver=3, ack_wait=30.0)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler)
    await c.start()
    try:
        await rt.publisher.publish(_attempt("flaky"))
        await _wait_for(lambda: c.counts["dlq"] == 1, timeout=20)
        assert len(seen) == 3
        gaps = [b - a for a, b in itertools.pairwise(seen)]
        assert gaps[0] >= 0.95 and gaps[1] >= 1.95, gaps
        # and not the next step of the schedule (4 s) or an ack_wait timeout (30 s)
        assert gaps[0] < 3.5 and gaps[1] < 3.9, gaps
    finally:
        await c.stop()


async def test_failed_dlq_write_leaves_the_message_for_redelivery(rt: Runtime) -> None:
    seen: list[str] = []

    async def handler(env: Envelope[ScrapeAttempted]) -> None:
        seen.append(env.id)
        raise Reject("bad data")

    dlq = rt.topology.stream("DLQ")
    await rt.js.delete_stream(dlq)  # the DLQ copy cannot be stored
    spec = ConsumerSpec(name="dlqdown", stream="SCRAPE", subjects=("scrape.attempted",),
                        max_deliver=10, ack_wait=30.0)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler)
    await c.start()
    try:
        await rt.publisher.publish(_attempt("poison"))
        await _wait_for(lambda: len(seen) >= 1)
        # the message is nak'ed (not terminated, not acked): still pending for this consumer
        for _ in range(100):
            if c.counts["retry"] + c.counts["dlq"] + c.counts["ack"] == 0 and len(seen) == 1:
                pend = await _consumer_state(rt, "dlqdown")
                if pend[0] == 1:
                    break
            await asyncio.sleep(0.05)
        assert c.counts["dlq"] == 0 and c.counts["ack"] == 0
        assert (await _consumer_state(rt, "dlqdown"))[0] == 1
        await rt.topology.provision(rt.js)  # the DLQ comes back
        await _wait_for(lambda: c.counts["dlq"] == 1, timeout=20)
        assert len(seen) == 2 and seen[0] == seen[1]
        info = await rt.js.stream_info(dlq)
        assert info.state.messages == 1
        m = await rt.js.get_msg(dlq, info.state.first_seq)
        assert "bad data" in m.headers["B9-Dlq-Reason"]
        state = await _consumer_state(rt, "dlqdown")
        assert state[0] == 0 and state[2] == 0
    finally:
        await c.stop()
