"""The scrapers' command handlers through the fakes: what a stopped, unconfigured or refused
command does to the message, the events it publishes and the request a person follows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from b9_common.events import InstagramScrapeRequested, RedditScrapeRequested
from b9_common.events.control import InstagramControl, RedditControl
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, RequestBook
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget
from b9_common.testing import FakeKV, FakePublisher, run_handler
from b9_instagram_scraper.commands import CommandHandler
from b9_instagram_scraper.directory import NullDirectory
from b9_instagram_scraper.kvstate import KnownStore, StateStore
from b9_instagram_scraper.rapidapi import NullProvider, RapidApiProvider
from b9_instagram_scraper.scrape import Scraper
from b9_reddit_scraper.commands import RETRY_WHEN_DISABLED, command_handler

COMMANDS = ConsumerSpec(name="scraper-commands", stream="COMMANDS", subjects=(), max_deliver=10)


@pytest.fixture
def book() -> RequestBook:
    return RequestBook(FakeKV("requests"))  # type: ignore[arg-type]


def instagram(provider: object, pub: FakePublisher, book: RequestBook) -> tuple[CommandHandler, CommandsFirst]:
    scraper = Scraper(provider=provider, sink=pub, state=StateStore(FakeKV()), known=KnownStore(FakeKV()),  # type: ignore[arg-type]
                      directory=NullDirectory(), control=ControlWatch(InstagramControl()), replica="ig-1")
    gate = CommandsFirst()
    return CommandHandler(scraper, provider, gate, Reporter(book, "ig-1")), gate  # type: ignore[arg-type]


@pytest.fixture
async def busy_api() -> AsyncIterator[str]:
    async def busy(_: web.Request) -> web.Response:
        return web.Response(status=503, text="upstream busy")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", busy)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_stopped_reddit_scraper_keeps_the_command_queued(book: RequestBook) -> None:
    control = ControlWatch(RedditControl(enabled=False))
    # The scraper is never reached while stopped (None would fail the test if it were).
    handler = command_handler(None, control, CommandsFirst(), reporter=Reporter(book, "rd-1"))  # type: ignore[arg-type]
    out = await run_handler(handler, RedditScrapeRequested(kind="subreddit", name="pics", request_id="q1"),
                            spec=COMMANDS)
    assert (out.outcome, out.delay, out.reason) == ("retry", RETRY_WHEN_DISABLED, "reddit scraper disabled")
    record = await book.get("q1") or {}
    assert (record["status"], record["reason"]) == ("queued", "disabled")


async def test_an_unconfigured_instagram_scraper_answers_the_command(book: RequestBook) -> None:
    pub = FakePublisher(source="ig@test")
    handler, gate = instagram(NullProvider(), pub, book)
    out = await run_handler(handler, InstagramScrapeRequested(kind="creator", username="ann", request_id="i1"),
                            spec=COMMANDS)
    assert out.outcome == "ack" and gate.active == 0
    [attempt] = pub.payloads("scrape.attempted")
    assert (attempt.outcome, attempt.target, attempt.request_id) == ("not_configured", "ann", "i1")
    record = await book.get("i1") or {}
    assert (record["status"], record["reason"]) == ("failed", "not_configured")


async def test_an_invalid_username_goes_to_dlq_with_the_reason(book: RequestBook) -> None:
    pub = FakePublisher()
    provider = RapidApiProvider("http://127.0.0.1:9", "key", "host", budget=Budget(lambda: 0.0))
    try:
        handler, _ = instagram(provider, pub, book)
        cmd = InstagramScrapeRequested(kind="creator", username="not a name!", request_id="i2")
        out = await run_handler(handler, cmd, spec=COMMANDS)
    finally:
        await provider.close()
    assert (out.outcome, out.reason) == ("dlq", "invalid Instagram username 'not a name!'")
    assert out.dlq is not None and out.dlq.subject == "dlq.scrape.requested.instagram"
    assert [a.outcome for a in pub.payloads("scrape.attempted")] == ["failed"]
    assert (await book.get("i2") or {})["status"] == "failed"


async def test_a_struggling_provider_naks_the_command_and_queues_the_request(book: RequestBook, busy_api: str) -> None:
    pub = FakePublisher()
    provider = RapidApiProvider(busy_api, "key", "host", budget=Budget(lambda: 0.0), attempts=1,
                                wait_initial=0, wait_max=0)
    try:
        handler, _ = instagram(provider, pub, book)
        out = await run_handler(handler, InstagramScrapeRequested(kind="creator", username="ann", request_id="i3"),
                                spec=COMMANDS)
    finally:
        await provider.close()
    assert out.outcome == "retry" and out.delay == 30.0 and "503" in out.reason
    assert (await book.get("i3") or {})["status"] == "queued"
    assert [(a.outcome, a.target) for a in pub.payloads("scrape.attempted")] == [("failed", "ann")]
