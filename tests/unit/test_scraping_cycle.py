"""The shared cycle pass (b9_common.scraping.cycle.run_claimed) and KV claims
(b9_common.scraping.claims) through the in-memory KV: no servers."""

from __future__ import annotations

import asyncio
import gc

import pytest
from b9_common.events.control import RedditControl
from b9_common.scraping import claims
from b9_common.scraping.claims import LeaseClaims
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.cycle import run_claimed
from b9_common.scraping.gate import CommandsFirst
from b9_common.testing import FakeKV


class Work:
    """Items that take ``seconds``; records the most that ran at once."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.now = 0
        self.most = 0
        self.done: list[int] = []
        self.cancelled: list[int] = []

    async def __call__(self, item: int) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.seconds)
            self.done.append(item)
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.now -= 1


async def test_claimed_items_run_batch_size_at_a_time() -> None:
    kv = FakeKV()
    await claims.take(kv, "item.3")  # another replica has item 3
    control = ControlWatch(RedditControl(batch_size=3))
    work = Work()
    started = await run_claimed(range(10), control=control, work=work,
                                claim=lambda i: claims.take(kv, f"item.{i}", b"me"))
    assert started == 9 and sorted(work.done) == [0, 1, 2, 4, 5, 6, 7, 8, 9] and work.most == 3
    assert await run_claimed(range(10), control=control, work=work,
                             claim=lambda i: claims.take(kv, f"item.{i}")) == 0  # all claimed already
    await claims.release(kv, "item.3")
    assert await claims.take(kv, "item.3")  # released: the next claim wins


async def test_a_batch_size_change_applies_to_the_next_start() -> None:
    control = ControlWatch(RedditControl(batch_size=1))
    work = Work(0.03)

    async def claim(item: int) -> bool:
        if item == 2:
            control.apply(RedditControl(batch_size=4))
        return True

    await run_claimed(range(8), control=control, claim=claim, work=work)
    assert work.most == 4 and len(work.done) == 8


@pytest.mark.parametrize("cancel", [True, False])
async def test_a_disable_stops_the_pass(cancel: bool) -> None:
    """Nothing new starts. The work in flight is cancelled when asked; else it ends by itself
    (work that sent a request finishes it and reports its calls)."""
    control = ControlWatch(RedditControl(batch_size=2))
    work = Work(10 if cancel else 0.1)
    task = asyncio.create_task(run_claimed(range(5), control=control, work=work, cancel_on_disable=cancel,
                                           claim=lambda i: asyncio.sleep(0, True)))
    await asyncio.sleep(0.02)
    control.apply(RedditControl(enabled=False, batch_size=2))
    with pytest.raises(ScraperDisabled):
        await asyncio.wait_for(task, 1)
    assert (sorted(work.cancelled), sorted(work.done)) == (([0, 1], []) if cancel else ([], [0, 1]))


async def test_a_task_ending_in_scraper_disabled_stops_the_pass_and_every_error_is_retrieved() -> None:
    control = ControlWatch(RedditControl(batch_size=3))
    ended: list[int] = []

    async def work(item: int) -> None:
        await asyncio.sleep(0.01 * item)
        ended.append(item)
        if item == 1:
            raise RuntimeError("a bug")  # logged, the pass goes on
        raise ScraperDisabled("disabled in the middle of a request")

    loop = asyncio.get_running_loop()
    unretrieved: list[object] = []
    loop.set_exception_handler(lambda _loop, ctx: unretrieved.append(ctx.get("message")))
    try:
        with pytest.raises(ScraperDisabled):
            await run_claimed(range(1, 9), control=control, work=work, claim=lambda i: asyncio.sleep(0, True))
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    # 1 failed (4 may have started after it), 2 said disabled: nothing more started, all ended
    assert {1, 2, 3} <= set(ended) <= {1, 2, 3, 4} and unretrieved == []


async def test_no_item_starts_while_a_command_runs() -> None:
    control = ControlWatch(RedditControl(batch_size=5))
    gate = CommandsFirst()
    work = Work(0)
    async with gate.command():
        task = asyncio.create_task(run_claimed(range(3), control=control, gate=gate, work=work,
                                               claim=lambda i: asyncio.sleep(0, True)))
        await asyncio.sleep(0.02)
        assert work.done == [] and not task.done()
    assert await asyncio.wait_for(task, 1) == 3


async def test_lease_claims_are_due_again_after_the_interval_a_failure_or_a_dead_replica() -> None:
    kv, now = FakeKV(), [1000.0]
    a = LeaseClaims(kv, "a", lease=60, retry_after=30, clock=lambda: now[0])
    b = LeaseClaims(kv, "b", lease=60, retry_after=30, clock=lambda: now[0])
    assert await a.try_claim("x", interval=100) and not await b.try_claim("x", interval=100)
    await a.finish("x", ok=True)
    now[0] += 99
    assert not await b.try_claim("x", interval=100)
    now[0] += 1
    assert await b.try_claim("x", interval=100)
    await b.finish("x", ok=False)
    now[0] += 30
    assert await a.try_claim("x", interval=100)  # failed: due after retry_after
    now[0] += 60
    assert await b.try_claim("x", interval=100)  # a never finished: its lease ran out
    await kv.put("x", b"garbage")
    assert await a.try_claim("x", interval=100)  # an unreadable claim counts as failed long ago
