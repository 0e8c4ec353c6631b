"""Disabling the scraper while a batch of refreshes runs: every refresh task's ScraperDisabled
is retrieved (stopping it from the UI logged "Task exception was never retrieved" per task)."""

from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace
from typing import Any

import pytest
from b9_common.events.control import RedditControl
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_reddit_scraper.cycle import CycleRunner
from b9_reddit_scraper.tracked import Tracked


class FakeKV:
    async def create(self, key: str, value: bytes) -> int:
        return 1

    async def delete(self, key: str) -> None:
        return None


class DisabledTogether:
    """refresh_subreddit: every call waits for the switch, then all raise at once."""

    def __init__(self, n: int) -> None:
        self.started = 0
        self.n = n
        self.off = asyncio.Event()

    async def refresh_subreddit(self, name: str, mode: Any, *, cycle: int, claim: Any) -> None:
        self.started += 1
        if self.started == self.n:
            self.off.set()
        await self.off.wait()
        raise ScraperDisabled("scraper disabled in control KV")


async def test_every_refresh_task_exception_is_retrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: reported.append(str(ctx.get("message"))))
    try:
        scraper = DisabledTogether(4)
        control = ControlWatch(RedditControl(batch_size=4))
        runner = CycleRunner(scraper, SimpleNamespace(), control, FakeKV(), replica="r1")  # type: ignore[arg-type]
        items = [Tracked(name=f"s{i}", mode="full") for i in range(4)]  # type: ignore[call-arg]
        with pytest.raises(ScraperDisabled):
            await runner._run_items(1, items)
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert not [m for m in reported if "never retrieved" in m], reported
