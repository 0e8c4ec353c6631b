"""Fixtures of the instagram-scraper tests: the fake provider server and a provider on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import ig_fixtures as fx
import pytest
from b9_common.scraping.ratelimit import Budget
from b9_instagram_scraper.rapidapi import RapidApiProvider
from ig_upstream import API_KEY, FAST, FakeProvider


@pytest.fixture
async def upstream() -> AsyncIterator[FakeProvider]:
    server = FakeProvider(page_size=3)
    for data in (
        fx.alice(),
        fx.bob(),
        fx.bulk("carol", "5550003", 100, 40),
        fx.private("pia", "5550004"),
    ):
        server.add(data)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def provider(upstream: FakeProvider) -> AsyncIterator[RapidApiProvider]:
    p = RapidApiProvider(
        upstream.url,
        API_KEY,
        "instagram-looter2.p.rapidapi.com",
        budget=Budget(lambda: 0.0),  # no budget
        timeout=5,
        **FAST,
    )
    yield p
    await p.close()
