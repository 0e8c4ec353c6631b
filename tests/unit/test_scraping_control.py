"""The scrapers' control contract (b9_common.events.control) and the shared watcher, gate and
budget helpers (b9_common.scraping): no servers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import msgspec
import pytest
from b9_common.events.control import (
    CONTROLS,
    MAX_BATCH,
    InstagramControl,
    RedditControl,
    control_key,
    decode_control,
)
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget, follow_budget, parse_retry_after
from b9_common.testing import FakeKV
from nats.errors import TimeoutError as NatsTimeout
from prometheus_client import REGISTRY


def test_the_catalogue_holds_each_scrapers_defaults_and_limits() -> None:
    assert {"reddit": RedditControl, "instagram": InstagramControl} == CONTROLS
    assert control_key("reddit") == "scraper.reddit"
    reddit, ig = RedditControl(), InstagramControl()
    assert (reddit.enabled, reddit.interval_seconds, reddit.batch_size, reddit.requests_per_minute) == (
        True, 300.0, 5, 100.0)
    assert (ig.interval_seconds, ig.batch_size, ig.requests_per_hour, ig.viral_min_views) == (
        14_400.0, 10, 3600, 50_000)
    assert decode_control(RedditControl, b"") == reddit  # a missing value: the defaults
    # unknown fields (a newer writer, the gateway's updated_*) are ignored, not refused
    got = decode_control(RedditControl, b'{"batch_size": 7, "future_field": 1, "updated_by": "ann"}')
    assert (got.batch_size, got.updated_by) == (7, "ann")
    for bad, field in ((b'{"batch_size": 0}', "batch_size"), (f'{{"batch_size": {MAX_BATCH + 1}}}'.encode(),
                       "batch_size"), (b'{"requests_per_minute": 0}', "requests_per_minute"),
                       (b'{"interval_seconds": -1}', "interval_seconds"), (b'{"enabled": "yes"}', "enabled")):
        with pytest.raises(msgspec.ValidationError, match=f"\\$.{field}"):
            decode_control(RedditControl, bad)
    with pytest.raises(msgspec.ValidationError, match="requests_per_hour"):
        decode_control(InstagramControl, b'{"requests_per_hour": -5}')
    assert decode_control(InstagramControl, b'{"requests_per_hour": 0}').requests_per_hour == 0  # no budget


async def test_the_watch_ignores_a_bad_value_and_takes_a_deleted_one_as_the_defaults() -> None:
    control = ControlWatch(RedditControl())
    seen: list[RedditControl] = []
    control.on_change(seen.append)
    assert control.apply_raw(b'{"batch_size": 9, "requests_per_minute": 60}', 3)
    assert (control.config.batch_size, control.revision) == (9, 3)
    assert not control.apply_raw(b'{"batch_size": 500}', 4)  # breaks a limit: the last good stays
    assert not control.apply_raw(b"{not json", 5)
    assert control.config.batch_size == 9 and control.revision == 3
    assert control.apply_raw(b'{"batch_size": 9, "requests_per_minute": 60}', 6)  # same value: no listener call
    assert control.apply_raw(None, 7, deleted=True)
    assert control.config == RedditControl() and [c.batch_size for c in seen] == [9, 5]


async def test_a_disable_cuts_sleeps_short_and_wakes_waiters() -> None:
    control = ControlWatch(RedditControl())
    sleeping = asyncio.create_task(control.sleep(30))
    changed = asyncio.create_task(control.wait_changed())
    disabled = asyncio.create_task(control.wait_disabled())
    await asyncio.sleep(0.01)
    assert not sleeping.done() and not changed.done() and not disabled.done()
    control.apply(RedditControl(enabled=False))
    with pytest.raises(ScraperDisabled):
        await asyncio.wait_for(sleeping, 1)
    assert await asyncio.wait_for(changed, 1) is True
    await asyncio.wait_for(disabled, 1)
    with pytest.raises(ScraperDisabled):
        control.check()
    assert await control.wait_changed(0.01) is False  # nothing changed since
    enabled = asyncio.create_task(control.wait_enabled())
    await asyncio.sleep(0.01)
    assert not enabled.done()
    control.apply(RedditControl())
    await asyncio.wait_for(enabled, 1)
    await control.sleep(0.01)  # enabled again: a plain sleep


async def test_commands_go_first() -> None:
    gate = CommandsFirst()
    order: list[str] = []

    async def cycle_request() -> None:
        CommandsFirst.background()
        await gate.wait_turn()
        order.append("cycle")

    async def command() -> None:
        async with gate.command():
            assert gate.active == 1
            await gate.wait_turn()  # a command never waits for itself
            order.append("command")
            await asyncio.sleep(0.05)

    running = asyncio.create_task(command())
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(cycle_request())
    await asyncio.sleep(0.01)
    assert order == ["command"] and not waiting.done()
    await asyncio.wait_for(asyncio.gather(running, waiting), 1)
    assert order == ["command", "cycle"] and gate.active == 0


def test_retry_after_in_seconds_or_as_a_date_is_capped() -> None:
    assert parse_retry_after("7", 120) == 7.0
    assert parse_retry_after(" 500 ", 120) == 120.0
    assert parse_retry_after("-3", 120) == 0.0
    assert parse_retry_after(None, 120) is None and parse_retry_after("soon", 120) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later, 120) or 0) <= 30


def test_the_budget_gauge_follows_the_control_value() -> None:
    control = ControlWatch(InstagramControl(requests_per_hour=600))
    follow_budget(control, "test-upstream", lambda c: c.requests_per_hour / 60)
    def shown() -> float | None:
        return REGISTRY.get_sample_value("b9_upstream_budget_per_minute", {"upstream": "test-upstream"})

    assert shown() == 10.0
    control.apply(InstagramControl(requests_per_hour=120))
    assert shown() == 2.0


async def test_the_shared_budget_takes_tokens_and_waits_when_they_are_spent() -> None:
    kv = FakeKV()
    control = ControlWatch(RedditControl(requests_per_minute=60))  # 1 token a second, burst 2
    budget = Budget(lambda: control.config.requests_per_minute / 60.0, control=control, kv=kv,
                    burst_seconds=2, stop_when_disabled=True)
    other = Budget(budget.rate, control=control, kv=kv, burst_seconds=2)  # a second replica: one bucket
    await budget.acquire()
    await other.acquire()
    assert (budget.tokens_seen or 0) >= 1.0 and (other.tokens_seen or 0) < 2.0
    assert await budget._try_take() > 0.5  # spent: about a second to wait
    control.apply(RedditControl(enabled=False))
    with pytest.raises(ScraperDisabled):  # a disabled scraper takes nothing
        await budget.acquire()
    kv.fail = "down"
    control.apply(RedditControl(requests_per_minute=60))
    await asyncio.wait_for(budget.acquire(), 1)  # NATS down: the replica's own bucket, full
    assert await budget._try_take() == 0  # its burst of 2 ...
    assert await budget._try_take() > 0.5  # ... and then it paces on its own
    kv.fail = None
    assert await other._try_take() > 0.5  # NATS back: the shared bucket again, still spent



class WatchedKV(FakeKV):
    """The in-memory KV with ``watch(key)``: every put/delete reaches the watcher (itself)."""

    def __init__(self) -> None:
        super().__init__("control")
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.stopped = False

    def _entry(self, key: str, value: bytes | None, op: str | None = None) -> Any:
        entry = super()._entry(key, value, op)
        self.queue.put_nowait(entry)
        return entry

    async def watch(self, key: str) -> WatchedKV:
        self.queue = asyncio.Queue()
        for entry in self.data.values():
            self.queue.put_nowait(entry)
        self.queue.put_nowait(None)  # the end of the initial values
        return self

    async def updates(self, timeout: float) -> Any:
        try:
            item = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise NatsTimeout from None
        if isinstance(item, Exception):
            raise item
        return item

    async def stop(self) -> None:
        self.stopped = True


async def test_follow_applies_the_key_now_and_every_change_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("b9_common.scraping.control.WATCH_RETRY_SECONDS", 0.01)
    kv = WatchedKV()
    control = ControlWatch(InstagramControl())
    loop = await control.follow(kv, "scraper.instagram", publish_defaults=True)  # type: ignore[arg-type]
    written = msgspec.json.decode(kv.values()["scraper.instagram"])
    assert written["requests_per_hour"] == 3600 and "updated_at" not in written  # the defaults, published
    running = asyncio.create_task(loop())
    try:
        await kv.put("scraper.instagram", b'{"enabled": false, "batch_size": 3}')
        await asyncio.wait_for(control.wait_disabled(), 1)
        assert control.config.batch_size == 3
        kv.queue.put_nowait(ConnectionError("reconnecting"))  # a broken watch: logged, watched again
        await kv.put("scraper.instagram", b'{"batch_size": 1000}')  # ignored: breaks the limit
        await kv.delete("scraper.instagram")  # deleted: the defaults
        await asyncio.wait_for(control.wait_enabled(), 1)
        assert control.config == InstagramControl()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert kv.stopped
    again = ControlWatch(InstagramControl())
    await kv.put("scraper.instagram", b'{"related_per_cycle": 4}')
    await again.follow(kv, "scraper.instagram", publish_defaults=True)  # type: ignore[arg-type]
    assert again.config.related_per_cycle == 4  # applied before anything starts; never overwritten


async def test_a_spent_budget_shows_as_exhausted_until_it_has_refilled() -> None:
    budget = Budget(lambda: 10.0, burst_seconds=0.1)  # 10 tokens a second, one at most
    assert not budget.exhausted()  # nothing taken yet
    await budget.acquire()
    assert budget.exhausted()  # the only token is gone
    await asyncio.sleep(0.15)  # 1.5 tokens' worth: refilled, though nobody looked
    assert not budget.exhausted()
