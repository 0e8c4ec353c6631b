"""Fixtures for the reddit-scraper tests: a local Reddit serving the real fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
from b9_common.settings import CommonSettings
from b9_reddit_scraper.settings import Settings
from reddit_fake_upstream import FakeReddit
from reddit_helpers import UA


@pytest.fixture
async def upstream() -> AsyncIterator[FakeReddit]:
    fake = FakeReddit()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def make_settings(common_settings: CommonSettings, upstream: FakeReddit) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = msgspec.structs.asdict(common_settings)
        values = {**base, "reddit_api_base": upstream.url, "reddit_user_agent": UA,
                  "reddit_timeout_seconds": 2.0, "reddit_retry_base_seconds": 0.05, **overrides}
        s = Settings(**values)
        s.validate()
        return s
    return make
