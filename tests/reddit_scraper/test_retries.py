"""The Reddit client's retries through stamina, against the loopback fake Reddit: typed failures
(429, 5xx, connection errors), backoff, Retry-After and x-ratelimit-* honoured, never error text."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from b9_common.events.control import RedditControl
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget
from b9_reddit_scraper.client import RedditClient, Result, Tally
from b9_reddit_scraper.ratelimit import HeaderPacer
from b9_reddit_scraper.settings import Settings
from reddit_fake_upstream import FakeReddit, built_about
from reddit_helpers import UA

Client = tuple[RedditClient, ControlWatch[RedditControl]]


@pytest.fixture
async def client(upstream: FakeReddit) -> AsyncIterator[Any]:
    sessions: list[aiohttp.ClientSession] = []

    def make(base: str | None = None, **settings: Any) -> Client:
        values = {"reddit_api_base": base or upstream.url, "reddit_user_agent": UA,
                  "reddit_timeout_seconds": 2.0, "reddit_retry_base_seconds": 0.05, **settings}
        control = ControlWatch(RedditControl(requests_per_minute=60_000))
        session = aiohttp.ClientSession()
        sessions.append(session)
        budget = Budget(lambda: 1000.0, control=control, stop_when_disabled=True)
        return RedditClient(session, Settings(**values), control, HeaderPacer(), budget, CommandsFirst()), control

    yield make
    for session in sessions:
        await session.close()


def _gaps(upstream: FakeReddit) -> list[float]:
    at = [r.at for r in upstream.api_requests()]
    return [b - a for a, b in itertools.pairwise(at)]


async def test_server_errors_back_off_exponentially_then_succeed(upstream: FakeReddit, client: Any) -> None:
    upstream.add("r/pics/about", built_about("pics"), built=True)
    upstream.faults.extend([("status", 503), ("status", 502)])
    reddit, _ = client(reddit_retry_base_seconds=0.2)
    tally = Tally()
    result = await reddit.get("r/pics/about", tally=tally)
    assert result.ok and tally.calls == 3 and [r.status for r in upstream.api_requests()] == [503, 502, 200]
    first, second = _gaps(upstream)
    assert first >= 0.2 - 0.02 and second >= 0.4 - 0.02  # base x 2^(n-1) (+ jitter up to base)
    assert {r.user_agent for r in upstream.requests} == {UA}


async def test_retries_spent_report_the_last_failure(upstream: FakeReddit, client: Any) -> None:
    upstream.add("r/pics/about", built_about("pics"), built=True)
    upstream.faults.extend([("status", 503), ("status", 500), ("status", 504)])
    reddit, _ = client()
    tally = Tally()
    result = await reddit.get("r/pics/about", tally=tally)
    assert (result.outcome, result.status, result.reason, tally.calls) == ("failed", 504, "http_status", 3)
    assert reddit.stats.errors == 1


async def test_a_429_waits_for_retry_after_and_does_not_use_up_a_retry(upstream: FakeReddit, client: Any) -> None:
    upstream.add("r/pics/about", built_about("pics"), built=True)
    upstream.faults.extend([("429", 1), ("status", 503), ("status", 503)])
    reddit, _ = client(reddit_max_attempts=3)
    tally = Tally()
    result = await reddit.get("r/pics/about", tally=tally)
    assert result.ok and (tally.calls, tally.rate_limited) == (4, 1)
    assert _gaps(upstream)[0] >= 1.0 - 0.02  # Retry-After: 1


async def test_too_many_429s_end_as_rate_limited(upstream: FakeReddit, client: Any) -> None:
    upstream.faults.extend([("429", 0)] * 5)
    reddit, _ = client(reddit_max_attempts=2)
    tally = Tally()
    result = await reddit.get("r/pics/about", tally=tally)
    assert (result.outcome, result.status, result.reason) == ("rate_limited", 429, "budget_exhausted")
    assert (tally.calls, tally.rate_limited) == (3, 3)  # 2 attempts + 1 tolerated 429


async def test_a_server_error_is_not_a_429_because_the_url_says_429(upstream: FakeReddit, client: Any) -> None:
    """The old loop searched the error text for "429": a 503 from r/sub429 counted as one."""
    upstream.faults.extend([("status", 503)] * 3)
    reddit, _ = client(reddit_max_attempts=3)
    tally = Tally()
    result = await reddit.get("r/sub429/about", tally=tally)
    assert (result.outcome, result.status, tally.calls, tally.rate_limited) == ("failed", 503, 3, 0)


async def test_the_spent_window_waits_for_x_ratelimit_reset(upstream: FakeReddit, client: Any) -> None:
    upstream.add("r/pics/about", built_about("pics"), built=True)
    upstream.budget, upstream.window = 3, 1.5
    reddit, _ = client()
    results: list[Result] = [await reddit.get("r/pics/about", tally=Tally()) for _ in range(5)]
    assert all(r.ok for r in results) and upstream.over_budget == 0  # never asked past the budget
    at = [r.at for r in upstream.api_requests()]
    assert at[3] - at[0] >= 1.0  # the 4th waited for the next window (reset is whole seconds)


async def test_connection_errors_are_retried_and_named(upstream: FakeReddit, client: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reddit, _ = client(f"http://127.0.0.1:{port}", reddit_max_attempts=2, reddit_retry_base_seconds=0.01)
    tally = Tally()
    result = await reddit.get("r/pics/about", tally=tally)
    assert (result.outcome, result.reason, tally.calls) == ("failed", "connection", 2)
    assert result.why is not None and "refused" in result.why.message


async def test_a_disable_during_the_backoff_sends_nothing_more(upstream: FakeReddit, client: Any) -> None:
    upstream.add("r/pics/about", built_about("pics"), built=True)
    upstream.faults.extend([("status", 503)])
    reddit, control = client(reddit_retry_base_seconds=0.3)
    call = asyncio.create_task(reddit.get("r/pics/about", tally=Tally()))
    await asyncio.sleep(0.1)
    control.apply(RedditControl(enabled=False))
    with pytest.raises(ScraperDisabled):
        await asyncio.wait_for(call, 2)
    assert len(upstream.api_requests()) == 1
